using CustomerGrains.Testing;

namespace CustomerGrains.Runtime.Tests;

/// <summary>One silo on its own database, shared by the tests of a class.</summary>
public sealed class SingleSiloFixture : IAsyncLifetime
{
    public TestCluster Cluster { get; private set; } = null!;

    public IGrainFactory Grains => Cluster.Silos[0].GrainFactory;

    public async Task InitializeAsync()
    {
        var options = new TestClusterOptions();
        options.GrainAssemblies.Add(typeof(CounterGrain).Assembly);
        options.Configuration["Grains:CallTimeout"] = "00:00:01";
        Cluster = await TestCluster.StartAsync(1, options);
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}
