using CustomerGrains.Gateway;
using Microsoft.Extensions.Options;

try
{
    var builder = WebApplication.CreateBuilder(args);
    builder.AddGrainRuntime();

    var app = builder.Build();
    app.MapClusterApi();
    app.MapHealthApi();
    await app.RunAsync();

    // A silo the cluster declared dead exits non-zero so that a supervisor restarts it as a new member.
    return app.Services.GetRequiredService<CustomerGrains.Runtime.SiloLifetime>().WasDeclaredDead ? 3 : 0;
}
catch (OptionsValidationException ex)
{
    // Every configuration failure at once, not the first one.
    await Console.Error.WriteLineAsync("Invalid configuration:\n  " + string.Join("\n  ", ex.Failures));
    return 2;
}
catch (Exception ex) when (ex is CustomerGrains.Runtime.StorageUnavailableException)
{
    await Console.Error.WriteLineAsync(ex.Message);
    return 1;
}

/// <summary>Visible to WebApplicationFactory-based tests.</summary>
public partial class Program;
