using CustomerGrains.Gateway.Tenants;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.FileProviders;

namespace CustomerGrains.Gateway.AgentConsole;

/// <summary>What the key's caller is, for the console to show only what the role may do.</summary>
public sealed record Me(string TenantId, string Role, string KeyId);

/// <summary>
/// The agent console: plain HTML, CSS and JavaScript modules (AgentConsole/wwwroot, copied to the output's console/
/// folder), served at <c>/</c> on the silo's public port; no build step and nothing fetched at run time. It signs in
/// with an API key and calls the same /v1 API as any client, so the server, not the page, decides what a role may do.
/// </summary>
public static class ConsoleApi
{
    public static WebApplication MapConsole(this WebApplication app)
    {
        var root = Path.Combine(AppContext.BaseDirectory, "console");
        if (Directory.Exists(root))
        {
            var files = new PhysicalFileProvider(root);
            app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
            app.UseStaticFiles(new StaticFileOptions
            {
                FileProvider = files,
                // Always the files of the running version: a console that loads an old module mixes two versions.
                OnPrepareResponse = context => context.Context.Response.Headers.CacheControl = "no-cache",
            });
        }

        app.MapGet("/v1/me", (HttpContext http) =>
            {
                var caller = ApiKeyFilter.CallerOf(http);
                return TypedResults.Ok(new Me(caller.TenantId, caller.Role, caller.KeyId));
            })
            .WithTags("Console")
            .AddEndpointFilter<ApiKeyFilter>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .WithSummary("The caller's tenant, role and key id");
        return app;
    }
}
