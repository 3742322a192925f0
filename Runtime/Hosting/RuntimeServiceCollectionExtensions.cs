using System.Reflection;
using CustomerGrains.Runtime;
using CustomerGrains.Runtime.Activation;
using CustomerGrains.Runtime.Calls;
using CustomerGrains.Runtime.Configuration;
using CustomerGrains.Runtime.Hosting;
using CustomerGrains.Runtime.Membership;
using CustomerGrains.Runtime.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Composes the grain runtime into an ASP.NET Core host.</summary>
public static class RuntimeServiceCollectionExtensions
{
    /// <summary>Adds the grain runtime (sections <c>Cluster</c>, <c>Grains</c>, <c>Database</c>, <c>Silo</c>) and
    /// configures Kestrel with the silo's public and cluster endpoints.</summary>
    /// <exception cref="OptionsValidationException">Any of those sections is invalid; lists every failure.</exception>
    public static WebApplicationBuilder AddGrainRuntime(this WebApplicationBuilder builder)
    {
        // Validated here, before Kestrel is configured from them, and all together: an operator sees every
        // mistake in one run instead of one per restart.
        var configuration = builder.Configuration;
        var failures = ValidateConfiguration(configuration).ToList();
        if (failures.Count > 0)
        {
            throw new OptionsValidationException("CustomerGrains", typeof(RuntimeServiceCollectionExtensions), failures);
        }

        builder.Services.AddGrainRuntime(configuration);
        var endpoints = new SiloEndpoints();
        builder.Services.AddSingleton(endpoints);
        var silo = configuration.GetSection(SiloOptions.SectionName).Get<SiloOptions>() ?? new SiloOptions();
        builder.WebHost.ConfigureKestrel(kestrel => endpoints.Configure(kestrel, silo));

        // Draining grains and leaving the cluster must fit in the host's shutdown window.
        builder.Services.Configure<Microsoft.Extensions.Hosting.HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(60));
        return builder;
    }

    /// <summary>Adds the runtime's services; <see cref="AddGrainRuntime(WebApplicationBuilder)"/> also sets up Kestrel.</summary>
    public static IServiceCollection AddGrainRuntime(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptionsWithValidateOnStart<ClusterOptions>().Bind(configuration.GetSection(ClusterOptions.SectionName));
        services.AddOptionsWithValidateOnStart<GrainOptions>().Bind(configuration.GetSection(GrainOptions.SectionName));
        services.AddOptionsWithValidateOnStart<DatabaseOptions>().Bind(configuration.GetSection(DatabaseOptions.SectionName));
        services.AddOptionsWithValidateOnStart<SiloOptions>().Bind(configuration.GetSection(SiloOptions.SectionName));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ClusterOptions>, ClusterOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GrainOptions>, GrainOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DatabaseOptions>, DatabaseOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SiloOptions>, SiloOptionsValidator>());

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SiloEndpoints>();
        services.TryAddSingleton<SiloLifetime>();
        services.TryAddSingleton<Database>();
        services.TryAddSingleton(sp => sp.GetRequiredService<Database>().DataSource);
        services.AddSchema("runtime", typeof(Database).Assembly);
        services.TryAddSingleton<IGrainStorage, PostgresGrainStorage>();
        services.TryAddSingleton<MembershipService>();
        services.TryAddSingleton<GrainTypeRegistry>();
        services.TryAddSingleton<IGrainFactory, GrainFactory>();
        services.TryAddSingleton(sp => new ActivationServices(
            sp.GetRequiredService<IServiceScopeFactory>(),
            sp.GetRequiredService<IGrainStorage>(),
            sp.GetRequiredService<IGrainFactory>(),
            sp.GetRequiredService<SiloLifetime>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IOptions<GrainOptions>>().Value.CallTimeout));
        services.TryAddSingleton(sp => new ActivationCatalog(sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<ActivationCatalog>>())
        {
            Services = sp.GetRequiredService<ActivationServices>(),
        });
        services.TryAddSingleton<RemoteGrainClient>();
        services.TryAddSingleton<GrainCallDispatcher>();
        services.TryAddSingleton<ClusterCallHandler>();
        services.AddHostedService<SiloHost>();
        services.AddHealthChecks().AddCheck<ClusterHealthCheck>("cluster", tags: [ClusterHealthCheck.ReadyTag]);
        return services;
    }

    /// <summary>Every problem with the runtime's sections (<c>Cluster</c>, <c>Grains</c>, <c>Database</c>, <c>Silo</c>).</summary>
    public static IEnumerable<string> ValidateConfiguration(IConfiguration configuration) =>
        ValidateSection(configuration, ClusterOptions.SectionName, new ClusterOptionsValidator())
            .Concat(ValidateSection(configuration, GrainOptions.SectionName, new GrainOptionsValidator()))
            .Concat(ValidateSection(configuration, DatabaseOptions.SectionName, new DatabaseOptionsValidator()))
            .Concat(ValidateSection(configuration, SiloOptions.SectionName, new SiloOptionsValidator()));

    /// <summary>Every problem with one section: values that do not convert, then what its validator finds.</summary>
    public static IEnumerable<string> ValidateSection<TOptions>(IConfiguration configuration, string section, IValidateOptions<TOptions> validator)
        where TOptions : class, new()
    {
        TOptions options;
        try
        {
            options = configuration.GetSection(section).Get<TOptions>() ?? new TOptions();
        }
        catch (InvalidOperationException ex)
        {
            // A value that does not convert, e.g. "ten seconds" for a TimeSpan.
            return [$"{section}: {ex.Message}"];
        }

        var result = validator.Validate(Microsoft.Extensions.Options.Options.DefaultName, options);
        return result.Failed ? result.Failures : [];
    }

    /// <summary>Hosts the grain classes of <paramref name="assemblies"/> on this silo.</summary>
    public static IServiceCollection AddGrains(this IServiceCollection services, params Assembly[] assemblies)
    {
        foreach (var assembly in assemblies)
        {
            services.AddSingleton(new GrainAssembly(assembly));
        }

        return services;
    }

    /// <summary>Registers a module's SQL schema scripts (embedded <c>NNN_name.sql</c> resources), applied at start-up.</summary>
    public static IServiceCollection AddSchema(this IServiceCollection services, string module, Assembly assembly)
    {
        if (!services.Any(d => d.ImplementationInstance is SchemaScripts scripts && scripts.Module == module))
        {
            services.AddSingleton(new SchemaScripts(module, assembly));
        }

        return services;
    }

    /// <summary>Maps the silo-to-silo routes (<c>/_cluster/call</c>, <c>/_cluster/echo</c>); they answer only on the cluster endpoint.</summary>
    public static IEndpointRouteBuilder MapClusterApi(this IEndpointRouteBuilder app)
    {
        var handler = app.ServiceProvider.GetRequiredService<ClusterCallHandler>();
        app.MapPost(ClusterProtocol.CallPath, handler.HandleCallAsync).ExcludeFromDescription();
        app.MapPost(ClusterProtocol.EchoPath, handler.HandleEchoAsync).ExcludeFromDescription();
        return app;
    }
}
