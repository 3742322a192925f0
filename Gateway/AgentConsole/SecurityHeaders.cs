using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace CustomerGrains.Gateway.AgentConsole;

/// <summary>
/// Response headers that keep the console's pages to themselves: scripts, styles and connections from this origin
/// only (the console has no inline script or style), no framing by other sites (clickjacking an agent into sending a
/// reply), and no content sniffing. The Orleans dashboard under /dashboard is the operators' and brings inline
/// scripts of its own, so it gets the framing and sniffing headers but not the script policy.
/// </summary>
public static class SecurityHeaders
{
    public const string ContentSecurityPolicy =
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    public static WebApplication UseSecurityHeaders(this WebApplication app)
    {
        app.Use((http, next) =>
        {
            var headers = http.Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            if (!http.Request.Path.StartsWithSegments("/dashboard"))
            {
                headers.ContentSecurityPolicy = ContentSecurityPolicy;
            }

            return next(http);
        });
        return app;
    }
}
