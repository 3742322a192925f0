using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace CustomerGrains.Silo.Hosting;

/// <summary>
/// Only operators' keys (<see cref="OperatorOptions.Keys"/>) open the Orleans dashboard (/dashboard): as a Bearer token,
/// or as the password of HTTP Basic authentication, which a browser asks for on its own when answered 401 with a Basic
/// challenge. No tenant's key does, whatever its role: the dashboard is the whole cluster's. The Trace page (every
/// silo's live logs) answers 404 unless <see cref="OperatorOptions.DashboardTrace"/>.
/// </summary>
internal sealed class DashboardAccess(IOptions<OperatorOptions> options) : IEndpointFilter
{
    private readonly byte[][] _keys = [.. options.Value.Keys.Select(key => SHA256.HashData(Encoding.UTF8.GetBytes(key)))];

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (!IsOperator(KeyOf(http.Request.Headers.Authorization.ToString())))
        {
            http.Response.Headers.WWWAuthenticate = "Basic realm=\"Orleans dashboard: an operator key as the password\", charset=\"UTF-8\"";
            return Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized",
                detail: _keys.Length == 0
                    ? "The dashboard is closed: no operator key is configured (Operators:Keys)."
                    : "The dashboard takes an operator key (Operators:Keys), not a tenant's: 'Authorization: Bearer <key>', or any user name and the key as the password.");
        }

        if (!options.Value.DashboardTrace && http.Request.Path.Value?.EndsWith("/Trace", StringComparison.OrdinalIgnoreCase) == true)
        {
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not Found",
                detail: "The dashboard's Trace page streams every tenant's logs; it is off unless Operators:DashboardTrace is true.");
        }

        return await next(context);
    }

    private bool IsOperator(string? key)
    {
        if (key is null)
        {
            return false;
        }

        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(key));
        var match = false;
        foreach (var known in _keys)
        {
            match |= CryptographicOperations.FixedTimeEquals(hash, known);
        }

        return match;
    }

    private static string? KeyOf(string header)
    {
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return header[7..].Trim();
        }

        if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        try
        {
            var credentials = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
            var colon = credentials.IndexOf(':', StringComparison.Ordinal);
            return colon >= 0 ? credentials[(colon + 1)..] : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
