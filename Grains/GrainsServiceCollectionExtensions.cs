using CustomerGrains.Grains;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

public static class GrainsServiceCollectionExtensions
{
    /// <summary>Hosts the customer grains on this silo, with their tables (schema module <c>customers</c>).</summary>
    public static IServiceCollection AddCustomerGrains(this IServiceCollection services)
    {
        services.AddGrains(typeof(CustomerGrain).Assembly);
        services.AddSchema("customers", typeof(CustomerGrain).Assembly);
        services.AddSingleton<CustomerStore>();
        services.AddSingleton<SegmentCatalog>();
        services.AddSingleton<CustomerGrains.Grains.Suggestions.SuggestionComposer>();
        services.AddOptionsWithValidateOnStart<KnowledgeOptions>().BindConfiguration(KnowledgeOptions.SectionName);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Options.IValidateOptions<KnowledgeOptions>, KnowledgeOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        return services;
    }
}
