using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using CustomerGrains.Runtime.Activation;
using CustomerGrains.Runtime.Configuration;
using CustomerGrains.Runtime.Hosting;
using CustomerGrains.Runtime.Membership;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CustomerGrains.Runtime.Calls;

/// <summary>Serves <c>/_cluster/*</c> on the silo's cluster endpoint: grain calls from other silos, and an echo
/// that measures the transport's own ceiling. Both demand the cluster key; without it: 401 and nothing runs.</summary>
internal sealed class ClusterCallHandler(
    GrainTypeRegistry registry,
    GrainCallDispatcher dispatcher,
    MembershipService membership,
    SiloEndpoints endpoints,
    IOptions<ClusterOptions> options,
    ILogger<ClusterCallHandler> logger)
{
    private readonly string _clusterKey = options.Value.ClusterKey!;

    public async Task HandleCallAsync(HttpContext context)
    {
        if (!Admit(context))
        {
            return;
        }

        IncomingCall call;
        var body = context.Request.BodyReader;
        var read = await ReadToEndAsync(body, context.RequestAborted);
        try
        {
            call = ClusterProtocol.ReadCall(read.Buffer, registry);
        }
        catch (CallFormatException ex)
        {
            await ProblemAsync(context, ex.Status, ex.Title, ex.Message);
            return;
        }
        finally
        {
            body.AdvanceTo(read.Buffer.End);
        }

        if (call.ViewVersion > membership.View.Version)
        {
            // The caller has seen a newer membership than this silo: catch up before judging ownership.
            await membership.RefreshSoonAsync();
        }

        try
        {
            await call.Method.ExecuteRemoteAsync(dispatcher, call.GrainId, call.Arguments, call.Forwarded ? CallOrigin.Forwarded : CallOrigin.Remote, context.Response);
        }
        catch (NotOwnerException ex)
        {
            await ProblemAsync(context, StatusCodes.Status421MisdirectedRequest, "Not the owner", ex.Message);
        }
        catch (SiloStoppedException ex)
        {
            await ProblemAsync(context, StatusCodes.Status503ServiceUnavailable, "Silo not serving", ex.Message);
        }
        catch (GrainCallTimeoutException ex)
        {
            await ProblemAsync(context, StatusCodes.Status504GatewayTimeout, "Grain call timed out", ex.Message, ex.GetType().FullName);
        }
        catch (Exception ex) when (!context.Response.HasStarted)
        {
            await ProblemAsync(context, StatusCodes.Status500InternalServerError, "Grain call failed", ex.Message, ex.GetType().FullName);
        }
    }

    /// <summary>Returns the request body: the same listener, headers and key check as a grain call, no grain.</summary>
    public async Task HandleEchoAsync(HttpContext context)
    {
        if (!Admit(context))
        {
            return;
        }

        var body = context.Request.BodyReader;
        var read = await ReadToEndAsync(body, context.RequestAborted);
        context.Response.ContentType = "application/json";
        foreach (var segment in read.Buffer)
        {
            await context.Response.Body.WriteAsync(segment);
        }

        body.AdvanceTo(read.Buffer.End);
    }

    private bool Admit(HttpContext context)
    {
        if (context.Connection.LocalPort != endpoints.ClusterPort)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return false;
        }

        if (!ClusterProtocol.KeyMatches(context.Request.Headers[ClusterProtocol.ClusterKeyHeader], _clusterKey))
        {
            Log.Unauthorized(logger, context.Connection.RemoteIpAddress?.ToString());
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return false;
        }

        return true;
    }

    private static async Task<ReadResult> ReadToEndAsync(PipeReader reader, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            if (result.IsCompleted || result.IsCanceled)
            {
                return result;
            }

            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    private static Task ProblemAsync(HttpContext context, int status, string title, string detail, string? exceptionType = null)
    {
        context.Response.StatusCode = status;
        var problem = new Microsoft.AspNetCore.Mvc.ProblemDetails { Status = status, Title = title, Detail = detail };
        if (exceptionType is not null)
        {
            problem.Extensions[ClusterProtocol.ExceptionTypeExtension] = exceptionType;
        }

        return context.Response.WriteAsJsonAsync(problem, (JsonSerializerOptions?)null, "application/problem+json", context.RequestAborted);
    }
}
