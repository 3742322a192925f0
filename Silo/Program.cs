using CustomerGrains.Gateway;
using CustomerGrains.Gateway.Tenants;
using CustomerGrains.Grains;
using CustomerGrains.Inference;
using CustomerGrains.Silo.Hosting;
using Microsoft.Extensions.Options;

try
{
    var builder = WebApplication.CreateBuilder(args);

    // Every configuration problem at once, not the first one.
    var configuration = builder.Configuration;
    var problems = SiloHosting.ValidateConfiguration(configuration)
        .Concat(TenantRegistry.Validate(configuration))
        .Concat(SiloHosting.ValidateSection(configuration, KnowledgeOptions.SectionName, new KnowledgeOptionsValidator(configuration)))
        .Concat(SiloHosting.ValidateSection(configuration, InferenceOptions.SectionName, new InferenceOptionsValidator()))
        .ToList();
    if (problems.Count > 0)
    {
        throw new OptionsValidationException("CustomerGrains", typeof(Program), problems);
    }

    builder.AddCustomerGrainsSilo();
    builder.Services.AddCustomerGrains();
    builder.Services.AddGateway(builder.Configuration);
    builder.Services.AddInference(builder.Configuration);

    var app = builder.Build();
    app.MapCustomerGrainsSilo();
    app.ExitWhenStopOverruns();
    await app.RunAsync();
    return 0;
}
catch (OptionsValidationException ex)
{
    await Console.Error.WriteLineAsync("Invalid configuration:\n  " + string.Join("\n  ", ex.Failures));
    return 2;
}
catch (Exception ex) when (ex is StorageUnavailableException or CustomerGrains.Inference.Onnx.ModelLoadException or CustomerGrains.Inference.Generation.ModelLayoutException or FormatException)
{
    // PostgreSQL unreachable, ONNX Runtime or a model not loadable: the reason, not a stack trace.
    await Console.Error.WriteLineAsync(ex.Message);
    return 1;
}

/// <summary>Visible to WebApplicationFactory-based tests.</summary>
public partial class Program;
