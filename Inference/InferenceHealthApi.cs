using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerGrains.Inference;

public static class InferenceHealthApi
{
    /// <summary><c>GET /health/models</c>: the models this silo serves and the provider each one really runs on
    /// (cpu or cuda), for operators checking that a GPU is in use. Paths stay in the log: health needs no key.</summary>
    public static IEndpointRouteBuilder MapInferenceHealthApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/health/models", (InferenceHost host) =>
                TypedResults.Ok(host.Loaded.Select(model => new { model.Name, model.Kind, model.Provider, model.RuntimeVersion })))
            .ExcludeFromDescription();
        return app;
    }
}
