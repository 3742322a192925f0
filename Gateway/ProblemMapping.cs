using CustomerGrains.Gateway.Mediation;
using CustomerGrains.Grains;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace CustomerGrains.Gateway;

/// <summary>Turns what handlers throw into RFC 7807 Problem Details with the status a client can act on.</summary>
internal sealed class ProblemMapping(IProblemDetailsService problems, Microsoft.Extensions.Logging.ILogger<ProblemMapping> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken cancellationToken)
    {
        ProblemDetails problem = exception switch
        {
            RequestValidationException invalid => new ValidationProblemDetails(invalid.Errors) { Status = StatusCodes.Status400BadRequest, Title = "The request is invalid." },
            BadHttpRequestException bad => new ProblemDetails { Status = bad.StatusCode, Title = "Bad request", Detail = bad.Message },
            ConflictException conflict => new ProblemDetails { Status = StatusCodes.Status409Conflict, Title = "Conflict", Detail = conflict.Message },
            UnauthorizedAccessException forbidden => new ProblemDetails { Status = StatusCodes.Status403Forbidden, Title = "Forbidden", Detail = forbidden.Message },
            NotFoundException notFound => new ProblemDetails { Status = StatusCodes.Status404NotFound, Title = "Not found", Detail = notFound.Message },
            ArgumentException argument => new ProblemDetails { Status = StatusCodes.Status400BadRequest, Title = "Bad request", Detail = argument.Message },
            Grains.StorageUnavailableException or Orleans.Runtime.SiloUnavailableException or Orleans.Runtime.OrleansMessageRejectionException => new ProblemDetails { Status = StatusCodes.Status503ServiceUnavailable, Title = "Temporarily unavailable", Detail = exception.Message },
            TimeoutException => new ProblemDetails { Status = StatusCodes.Status504GatewayTimeout, Title = "Timed out", Detail = exception.Message },
            _ => new ProblemDetails { Status = StatusCodes.Status500InternalServerError, Title = "Internal error" },
        };
        http.Response.StatusCode = problem.Status!.Value;
        if (problem.Status >= StatusCodes.Status500InternalServerError)
        {
            // The client sees no detail; the operator must.
            // The route, not the path: a path names a customer by email or phone.
            Log.RequestFailed(logger, http.Request.Method, (http.GetEndpoint() as Microsoft.AspNetCore.Routing.RouteEndpoint)?.RoutePattern.RawText ?? "(no route)", problem.Status.Value, exception);
        }

        // A client that accepts only something else (an event stream) still gets the Problem Details.
        if (!await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = problem, Exception = exception }))
        {
            await http.Response.WriteAsJsonAsync(problem, (System.Text.Json.JsonSerializerOptions?)null, "application/problem+json", cancellationToken);
        }

        return true;
    }
}
