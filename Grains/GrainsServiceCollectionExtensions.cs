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
        return services;
    }
}
