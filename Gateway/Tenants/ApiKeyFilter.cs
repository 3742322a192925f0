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

    public static Caller CallerOf(HttpContext context) =>
        context.Items[CallerItem] as Caller ?? throw new InvalidOperationException("The endpoint has no ApiKeyFilter.");

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var header = http.Request.Headers.Authorization.ToString();
        var key = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : null;
        if (!tenants.TryAuthenticate(key, out var caller))
        {
            http.Response.Headers.WWWAuthenticate = "Bearer";
            return Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized",
                detail: key is null ? "Send the API key as 'Authorization: Bearer <key>'." : "The API key is not valid.");
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
