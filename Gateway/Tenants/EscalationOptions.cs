namespace CustomerGrains.Gateway.Tenants;

/// <summary>Where a tenant's escalated questions are announced (<c>Tenants:{id}:Escalation</c>): a Standard
/// Webhooks-signed POST to <see cref="Url"/>, retried until it answers 2xx.</summary>
public sealed class EscalationOptions
{
    public string? Url { get; set; }

    /// <summary><c>whsec_&lt;base64&gt;</c>, as Standard Webhooks receivers expect.</summary>
    public string? Secret { get; set; }
}
