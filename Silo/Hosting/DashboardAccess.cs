using System.Text;
using CustomerGrains.Gateway.Tenants;

namespace CustomerGrains.Silo.Hosting;

/// <summary>
/// Only admin keys open the Orleans dashboard (/dashboard): as a Bearer token, or as the password of HTTP Basic
/// authentication, which a browser asks for on its own when answered 401 with a Basic challenge.
/// </summary>
internal sealed class DashboardAccess(TenantRegistry tenants) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (!tenants.TryAuthenticate(KeyOf(http.Request.Headers.Authorization.ToString()), out var caller) || caller.Role != Roles.Admin)
        {
            http.Response.Headers.WWWAuthenticate = "Basic realm=\"Orleans dashboard: an admin API key as the password\", charset=\"UTF-8\"";
            return Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized",
                detail: "The dashboard takes an admin API key: 'Authorization: Bearer <key>', or any user name and the key as the password.");
        }

        return await next(context);
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
