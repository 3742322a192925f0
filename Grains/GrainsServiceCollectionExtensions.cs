using CustomerGrains.Grains;

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
        return services;
    }
}
