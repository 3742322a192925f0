using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace CustomerGrains.Gateway.Tenants;

/// <summary>The roles an endpoint admits.</summary>
public sealed class RequiresRoleAttribute(params string[] roles) : Attribute
{
    public IReadOnlyList<string> Roles { get; } = roles;
}

/// <summary>
/// Agent-API authentication: <c>Authorization: Bearer &lt;api key&gt;</c>. The tenant comes from the key, never
/// from the URL. No or unknown key: 401; a role the endpoint does not admit: 403.
/// </summary>
public sealed class ApiKeyFilter(TenantRegistry tenants) : IEndpointFilter
{
    private const string CallerItem = "CustomerGrains.Caller";
    private const string AuthenticatedItem = "CustomerGrains.Authenticated";

    public static Caller CallerOf(HttpContext context) =>
        context.Items[CallerItem] as Caller ?? throw new InvalidOperationException("The endpoint has no ApiKeyFilter.");

    /// <summary>The caller the request's bearer key names, or null when it names none. The key is hashed and looked up
    /// once per request: the rate limiter asks before this filter does.</summary>
    public static Caller? Authenticate(HttpContext http, TenantRegistry tenants)
    {
        if (http.Items.TryGetValue(AuthenticatedItem, out var known))
        {
            return known as Caller;
        }

        var caller = tenants.TryAuthenticate(KeyOf(http), out var found) ? found : null;
        http.Items[AuthenticatedItem] = caller;
        return caller;
    }

    private static string? KeyOf(HttpContext http)
    {
        var header = http.Request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : null;
    }

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (Authenticate(http, tenants) is not { } caller)
        {
            http.Response.Headers.WWWAuthenticate = "Bearer";
            return Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized",
                detail: KeyOf(http) is null ? "Send the API key as 'Authorization: Bearer <key>'." : "The API key is not valid.");
        }

        var required = http.GetEndpoint()?.Metadata.GetMetadata<RequiresRoleAttribute>();
        if (required is not null && !required.Roles.Contains(caller.Role))
        {
            return Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden",
                detail: $"This needs one of the roles {string.Join(", ", required.Roles)}; the key has '{caller.Role}'.");
        }

        http.Items[CallerItem] = caller;
        return await next(context);
    }
}

public static class ApiKeyEndpointExtensions
{
    /// <summary>Admits only keys with one of <paramref name="roles"/>.</summary>
    public static TBuilder RequireRoles<TBuilder>(this TBuilder builder, params string[] roles)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new RequiresRoleAttribute(roles));
}
