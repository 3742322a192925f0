using System.Reflection;
using CustomerGrains.Grains;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace CustomerGrains.Silo.Tests;

/// <summary>
/// What crosses between silos keeps its shape across versions: every grain interface method has an alias, and every
/// field of every record sent between grains has an explicit id, so renaming a method or a field, or reordering a
/// record's parameters, does not silently change what an older silo reads.
/// </summary>
public sealed class WireContractTests
{
    private static readonly Assembly Contracts = typeof(ICustomerGrain).Assembly;

    [Fact]
    public void Every_grain_interface_method_has_an_alias_and_every_serialized_record_field_an_explicit_id()
    {
        var missing = new List<string>();
        foreach (var type in Contracts.GetTypes())
        {
            if (type.IsInterface && typeof(IGrain).IsAssignableFrom(type))
            {
                missing.AddRange(type.GetMethods().Where(m => m.GetCustomAttribute<AliasAttribute>() is null).Select(m => $"{type.Name}.{m.Name} has no [Alias]"));
            }

            if (type.GetCustomAttribute<GenerateSerializerAttribute>() is not null && type.GetMethod("<Clone>$") is not null) // a record
            {
                var parameters = type.GetConstructors().OrderByDescending(c => c.GetParameters().Length).First().GetParameters();
                for (var i = 0; i < parameters.Length; i++)
                {
                    var id = type.GetProperty(parameters[i].Name!)?.GetCustomAttribute<IdAttribute>()?.Id;
                    if (id != (uint)i)
                    {
                        missing.Add($"{type.Name}.{parameters[i].Name} has {(id is null ? "no [Id]" : $"[Id({id})]")}, expected [Id({i})] (its position)");
                    }
                }
            }
        }

        Assert.True(missing.Count == 0, string.Join("\n", missing));
    }

    [Fact]
    public void A_record_survives_the_trip_between_silos_field_for_field()
    {
        using var services = new ServiceCollection().AddSerializer(s => s.AddAssembly(Contracts)).BuildServiceProvider();
        var serializer = services.GetRequiredService<Serializer>();
        var sent = new AppendRequest(
            new Interaction("chatwoot:cw1", "42", "web", InteractionDirection.Outbound, "It left today.", DateTimeOffset.Parse("2026-12-01T10:00:00Z"), "c-9", -0.2, "Kim (agent)", FromBot: true),
            new CustomerFacts("Ann Lee", "ann@example.com", "+491701234567", "de", "Europe/Berlin", new Dictionary<string, string> { ["plan"] = "pro" }),
            [new ExternalIdentity("chatwoot@cw1", "42")]);

        var received = serializer.Deserialize<AppendRequest>(serializer.SerializeToArray(sent))!;

        Assert.Equal(sent.Interaction, received.Interaction);
        Assert.Equal(sent.Facts with { Attributes = null }, received.Facts! with { Attributes = null });
        Assert.Equal("pro", received.Facts!.Attributes!["plan"]);
        Assert.Equal(sent.Identities, received.Identities);
    }
}
