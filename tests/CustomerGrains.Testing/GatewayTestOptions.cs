using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerGrains.Testing;

/// <summary>
/// Silos hosting the customer grains and the gateway, with two tenants: acme (a connection per provider, keys for
/// every role) and globex (its own keys and Chatwoot connection). Shared by the gateway tests and the benchmarks.
/// </summary>
public static class GatewayTestOptions
{
    public const string AcmeAgent = "acme-agent-key-0123456789";
    public const string AcmeAdmin = "acme-admin-key-0123456789";
    public const string GlobexAdmin = "globex-admin-key-012345678";
    public const string AcmeSenior = "acme-senior-key-0123456789";

    /// <summary>A second agent of acme: not the asker of the first agent's questions.</summary>
    public const string AcmeOtherAgent = "acme-agent-two-key-0123456789";

    /// <summary>The cluster's operator key: it opens the Orleans dashboard, which no tenant's key does.</summary>
    public const string Operator = "operator-key-0123456789-0123456789";

    /// <summary>Where acme's escalations go, signed with <see cref="Signing.StandardSecret"/>.</summary>
    public static TestClusterOptions Create(string hubSpotUrl, string? escalationUrl = null)
    {
        var options = new TestClusterOptions();
        var c = options.Configuration;
        c["Orleans:ResponseTimeout"] = "00:00:10";
        c["Inbox:ClaimTimeout"] = "00:00:12";
        c["Inbox:PollInterval"] = "00:00:00.200";
        c["Inbox:MaxAttempts"] = "3";
        c["Operators:Keys:0"] = Operator;
        foreach (var limit in new[] { "SuggestionsPerMinute", "TenantSuggestionsPerMinute", "AsksPerMinute", "TenantAsksPerMinute" })
        {
            c[$"RateLimits:{limit}"] = "1000000"; // tests and benchmarks ask as fast as they can; RateLimitTests set their own
        }

        c["Tenants:acme:ApiKeys:0:Key"] = AcmeAgent;
        c["Tenants:acme:ApiKeys:0:Role"] = "agent";
        c["Tenants:acme:ApiKeys:1:Key"] = AcmeAdmin;
        c["Tenants:acme:ApiKeys:1:Role"] = "admin";
        c["Tenants:acme:Connections:cw1:Provider"] = "chatwoot";
        c["Tenants:acme:Connections:cw1:Secrets:0"] = "an-old-secret-being-rotated";
        c["Tenants:acme:Connections:cw1:Secrets:1"] = Signing.ChatwootSecret;
        c["Tenants:acme:Connections:cw2:Provider"] = "chatwoot"; // a second Chatwoot account: its contact 42 is another customer
        c["Tenants:acme:Connections:cw2:Secrets:0"] = Signing.ChatwootSecret;
        c["Tenants:acme:Connections:zd1:Provider"] = "zendesk";
        c["Tenants:acme:Connections:zd1:Secrets:0"] = Signing.ZendeskSecret;
        c["Tenants:acme:Connections:ic1:Provider"] = "intercom";
        c["Tenants:acme:Connections:ic1:Secrets:0"] = Signing.IntercomSecret;
        c["Tenants:acme:Connections:hs1:Provider"] = "hubspot";
        c["Tenants:acme:Connections:hs1:Secrets:0"] = Signing.HubSpotSecret;
        c["Tenants:acme:Connections:hs1:Options:AccessToken"] = FakeHubSpot.AccessToken;
        c["Tenants:acme:Connections:hs1:Options:ApiBaseUrl"] = hubSpotUrl;
        c["Tenants:acme:Connections:hs1:Options:TrustEmail"] = "true"; // HubSpot and the CRM vouch for their contacts' emails; Chatwoot's widget does not
        c["Tenants:acme:Connections:crm1:Provider"] = "standard";
        c["Tenants:acme:Connections:crm1:Secrets:0"] = Signing.StandardSecret;
        c["Tenants:acme:Connections:crm1:Options:TrustEmail"] = "true";
        c["Tenants:acme:ApiKeys:2:Key"] = AcmeSenior;
        c["Tenants:acme:ApiKeys:2:Role"] = "senior";
        c["Tenants:acme:ApiKeys:3:Key"] = AcmeOtherAgent;
        c["Tenants:acme:ApiKeys:3:Role"] = "agent";
        if (escalationUrl is not null)
        {
            c["Tenants:acme:Escalation:Url"] = escalationUrl;
            c["Tenants:acme:Escalation:Secret"] = Signing.StandardSecret;
        }

        c["Tenants:globex:ApiKeys:0:Key"] = GlobexAdmin;
        c["Tenants:globex:ApiKeys:0:Role"] = "admin";
        c["Tenants:globex:Connections:gcw:Provider"] = "chatwoot";
        c["Tenants:globex:Connections:gcw:Secrets:0"] = Signing.ChatwootSecret;
        options.ConfigureSilo = builder =>
        {
            builder.Services.AddCustomerGrains();
            builder.Services.AddGateway(builder.Configuration);
        };
        options.ConfigureApp = app =>
        {
            app.MapGatewayApi();
            app.MapPrometheusScrapingEndpoint("/metrics");
        };
        return options;
    }
}
