namespace CustomerGrains.Grains;

/// <summary>Customer grain keys are <c>{tenantId}/{customerId}</c>; tenant ids contain no slash.</summary>
public static class CustomerKey
{
    public static string Of(string tenantId, string customerId) => tenantId + "/" + customerId;

    public static (string TenantId, string CustomerId) Parse(string key)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        return slash > 0 && slash < key.Length - 1
            ? (key[..slash], key[(slash + 1)..])
            : throw new ArgumentException($"Customer grain key '{key}' is not '{{tenant}}/{{customer}}'.");
    }
}
