using CustomerGrains.Grains;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

public static class GrainsServiceCollectionExtensions
{
    /// <summary>The services the grains need (their tables, Grains/Sql, are applied by the silo).</summary>
    public static IServiceCollection AddCustomerGrains(this IServiceCollection services)
    {
        services.AddSingleton<CustomerStore>();
        services.AddSingleton<SegmentCatalog>();
        services.AddSingleton<CustomerGrains.Grains.Suggestions.SuggestionAudit>();
        services.AddSingleton<CustomerGrains.Grains.Suggestions.SuggestionComposer>();
        services.AddOptionsWithValidateOnStart<KnowledgeOptions>().BindConfiguration(KnowledgeOptions.SectionName);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Options.IValidateOptions<KnowledgeOptions>, KnowledgeOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);

        // A silo that serves no models (Inference:Serve false) cannot host the inference grain: Orleans then places
        // every activation of it on the silos that can, and this silo's suggestion requests reach their models there.
        services.AddOptions<Orleans.Configuration.GrainTypeOptions>().PostConfigure<Microsoft.Extensions.Options.IOptions<CustomerGrains.Inference.InferenceOptions>>((types, inference) =>
        {
            if (!inference.Value.Serve)
            {
                types.Classes.Remove(typeof(InferenceGrain));
            }
        });
        return services;
    }
}
