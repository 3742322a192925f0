using CustomerGrains.Gateway.Tenants;
using MediatR;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace CustomerGrains.Gateway.Mediation;

/// <summary>A request that checks its own fields; <see cref="ValidationBehavior{TRequest, TResponse}"/> runs it.</summary>
public interface IValidatedRequest
{
    /// <summary>Each problem as (field, message); empty when valid.</summary>
    IEnumerable<(string Field, string Message)> Validate();
}

/// <summary>A request whose outcome is written to <c>audit_log</c>.</summary>
public interface IAuditedRequest
{
    Caller Caller { get; }

    string Action { get; }

    string Target { get; }
}

/// <summary>Invalid requests: answered 400 with a validation Problem Details listing every field.</summary>
public sealed class RequestValidationException(IDictionary<string, string[]> errors) : Exception("The request is invalid.")
{
    public IDictionary<string, string[]> Errors { get; } = errors;
}

/// <summary>Rejects invalid requests before any handler runs.</summary>
public sealed class ValidationBehavior<TRequest, TResponse> : IPipelineBehavior<TRequest, TResponse>
{
    public Task<TResponse> Handle(TRequest request, CancellationToken cancellationToken, RequestHandlerDelegate<TResponse> next)
    {
        if (request is IValidatedRequest validated)
        {
            var errors = validated.Validate()
                .GroupBy(e => e.Field, e => e.Message)
                .ToDictionary(g => g.Key, g => g.ToArray());
            if (errors.Count > 0)
            {
                throw new RequestValidationException(errors);
            }
        }

        return next();
    }
}

/// <summary>Records who did what to which customer, and how it ended, for every audited request. The customer is
/// recorded by our id (<c>cus_...</c>), never by the identity the path named: that may be an email or a phone number,
/// which would outlive the customer's erasure here.</summary>
public sealed class AuditBehavior<TRequest, TResponse>(AuditLog log, Customers.CustomerResolver customers, ILogger<AuditBehavior<TRequest, TResponse>> logger)
    : IPipelineBehavior<TRequest, TResponse>
{
    public async Task<TResponse> Handle(TRequest request, CancellationToken cancellationToken, RequestHandlerDelegate<TResponse> next)
    {
        if (request is not IAuditedRequest audited)
        {
            return await next();
        }

        var outcome = "ok";
        try
        {
            return await next();
        }
        catch (Exception ex)
        {
            outcome = ex is Grains.NotFoundException ? "not-found" : ex is RequestValidationException or ArgumentException ? "invalid" : "error";
            throw;
        }
        finally
        {
            try
            {
                await log.WriteAsync(
                    audited.Caller.TenantId, $"key:{audited.Caller.KeyId} ({audited.Caller.Role})", audited.Action, customers.Resolved ?? TargetOf(audited.Target), outcome);
            }
            catch (NpgsqlException ex)
            {
                Log.AuditFailed(logger, audited.Action, audited.Caller.KeyId, ex);
            }
        }
    }

    /// <summary>A target no customer was found for: an external identity keeps only its provider.</summary>
    private static string TargetOf(string target) =>
        target.IndexOf(':', StringComparison.Ordinal) is > 0 and var colon ? target[..colon] + ":(not found)" : target;
}
