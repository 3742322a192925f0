using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CustomerGrains.Grains;
using CustomerGrains.Silo.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace CustomerGrains.Silo.Hosting;

/// <summary>
/// Makes a web host an Orleans silo on PostgreSQL: membership, grain state and reminders through Orleans' ADO.NET
/// providers (the project's own SQL, Silo/Sql), the schema applied before the silo starts, the dashboard, and the
/// health check that says when the silo serves.
/// </summary>
public static class SiloHosting
{
    /// <summary>Every problem with the silo's own sections (<c>Database</c>, <c>Silo</c>, <c>Orleans</c>).</summary>
    public static IEnumerable<string> ValidateConfiguration(IConfiguration configuration) =>
        ValidateSection(configuration, DatabaseOptions.SectionName, new DatabaseOptionsValidator())
            .Concat(ValidateSection(configuration, SiloOptions.SectionName, new SiloOptionsValidator()))
            .Concat(ValidateSection(configuration, OrleansSettings.SectionName, new OrleansSettingsValidator()))
            .Concat(ValidateSection(configuration, OperatorOptions.SectionName, new OperatorOptionsValidator(configuration)));

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

        var result = validator.Validate(Options.DefaultName, options);
        return result.Failed ? result.Failures : [];
    }

    /// <summary>Mutual TLS between silos with one certificate: each shows it, and accepts a peer that shows the same one
    /// (or one whose chain this host trusts). Orleans' messaging between silos has no authentication of its own.</summary>
    private static void UseSiloTls(ISiloBuilder silo, string path, string? password)
    {
        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadPkcs12FromFile(path, password);
        }
        catch (CryptographicException ex)
        {
            throw new OptionsValidationException(OrleansSettings.SectionName, typeof(OrleansSettings), [$"Orleans:TlsCertificatePath '{path}' does not load with its password: {ex.Message}"]);
        }

        silo.UseTls(certificate, tls =>
        {
            tls.RemoteCertificateMode = Orleans.Connections.Security.RemoteCertificateMode.RequireCertificate;
            tls.ClientCertificateMode = Orleans.Connections.Security.RemoteCertificateMode.RequireCertificate;
            tls.RemoteCertificateValidation = (remote, _, errors) =>
                errors == System.Net.Security.SslPolicyErrors.None
                || remote is not null && remote.GetCertHashString() == certificate.GetCertHashString();
        });
    }

    /// <summary>Adds the silo (sections <c>Database</c>, <c>Silo</c>, <c>Orleans</c>, validated before) to the host.</summary>
    public static WebApplicationBuilder AddCustomerGrainsSilo(this WebApplicationBuilder builder, Action<ISiloBuilder>? configure = null)
    {
        var configuration = builder.Configuration;
        var silo = configuration.GetSection(SiloOptions.SectionName).Get<SiloOptions>() ?? new SiloOptions();
        var orleans = configuration.GetSection(OrleansSettings.SectionName).Get<OrleansSettings>() ?? new OrleansSettings();
        var database = configuration.GetSection(DatabaseOptions.SectionName).Get<DatabaseOptions>() ?? new DatabaseOptions();

        builder.Services.AddOptions<DatabaseOptions>().Bind(configuration.GetSection(DatabaseOptions.SectionName));
        builder.Services.AddOptions<OperatorOptions>().Bind(configuration.GetSection(OperatorOptions.SectionName));
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.AddCustomerGrainsTelemetry();
        // One connection pool for the silo: Orleans' providers, the schema migration and the grains' own queries.
        var dataSource = Npgsql.NpgsqlDataSource.Create(PoolConnectionString(database.ConnectionString));
        builder.Services.AddSingleton(_ => dataSource); // a factory, so that the container disposes it with the host
        builder.Services.AddSingleton<Database>();
        builder.Services.AddSingleton(new SchemaScripts("orleans", typeof(SiloHosting).Assembly));
        builder.Services.AddSingleton(new SchemaScripts("storage", typeof(global::CustomerGrains.Storage.InboxTable).Assembly));
        builder.Services.AddSingleton(new SchemaScripts("customers", typeof(CustomerGrain).Assembly));
        builder.Services.AddSingleton(new SchemaScripts("gateway", typeof(Gateway.HealthApi).Assembly));

        // Registered before the silo: hosted services start in order, and Orleans' providers read their queries from
        // the schema at start.
        builder.Services.AddHostedService<SchemaMigration>();
        builder.Services.AddHostedService<global::CustomerGrains.Grains.Knowledge.LexiconLoading>(); // needs kb_lexicon

        var host = IPAddress.Parse(silo.Host == "localhost" ? SiloOptions.DefaultHost : silo.Host);
        var (siloPort, gatewayPort) = SiloPorts.Resolve(host, silo, orleans);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(host, silo.Port);
            if (silo.ManagementPort != 0)
            {
                kestrel.Listen(host, silo.ManagementPort);
            }
        });
        builder.Services.AddOptions<SiloOptions>().Bind(configuration.GetSection(SiloOptions.SectionName));
        builder.UseOrleans(orleansBuilder =>
        {
            var advertised = IPAddress.Parse(orleans.AdvertisedIP ?? (host.Equals(IPAddress.Any) ? SiloOptions.DefaultHost : host.ToString()));
            orleansBuilder.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = orleans.ClusterId;
                o.ServiceId = orleans.ServiceId;
            });
            orleansBuilder.ConfigureEndpoints(advertised, siloPort, gatewayPort, listenOnAnyHostAddress: host.Equals(IPAddress.Any));
            if (orleans.TlsCertificatePath is { } path)
            {
                UseSiloTls(orleansBuilder, path, orleans.TlsCertificatePassword);
            }

            orleansBuilder.UseAdoNetClustering(o =>
            {
                o.Invariant = "Npgsql";
                o.DataSource = dataSource;
            });
            orleansBuilder.AddAdoNetGrainStorage(GrainStorage.Name, o =>
            {
                o.Invariant = "Npgsql";
                o.DataSource = dataSource;
                o.DeleteStateOnClear = true; // erasing a customer leaves no row
            });
            orleansBuilder.UseAdoNetReminderService(o =>
            {
                o.Invariant = "Npgsql";
                o.DataSource = dataSource;
            });

            // Orleans' defaults notice a killed silo in 5 to 13 s (measured on this project's machines); these in about
            // 2 to 4 s, at the cost of a probe per second between silos and a table write every 5 s per silo.
            orleansBuilder.Configure<ClusterMembershipOptions>(o =>
            {
                o.ProbeTimeout = orleans.ProbeTimeout;
                o.NumMissedProbesLimit = orleans.NumMissedProbesLimit;
                o.NumVotesForDeathDeclaration = orleans.NumVotesForDeathDeclaration;
                o.TableRefreshTimeout = orleans.TableRefreshTimeout;
                o.IAmAliveTablePublishTimeout = orleans.IAmAliveTablePublishTimeout;
            });
            orleansBuilder.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = orleans.ResponseTimeout);

            // Grain state as plain JSON (System.Text.Json): readable in the table, no type names to resolve, and
            // measured 2x faster per write than the default Newtonsoft serializer (bench.sh runtime).
            orleansBuilder.UseSystemTextJsonGrainStorageSerializer();
            var operators = configuration.GetSection(OperatorOptions.SectionName).Get<OperatorOptions>() ?? new OperatorOptions();
            orleansBuilder.AddDashboard(o => o.HideTrace = !operators.DashboardTrace);
            orleansBuilder.AddActivityPropagation(); // a caller's trace goes on in the grains it calls (Telemetry.cs)
            if (orleans.KubernetesHosting)
            {
                orleansBuilder.UseKubernetesHosting(); // after the endpoints above: the pod's address and labels win
            }

            // Live customer events (the console's open customer view) on Orleans' memory streams: a notification, not
            // a record. PostgreSQL holds every interaction with its sequence number, and a view that missed one (a
            // silo left, the view reconnected) reads it from there, so neither the queue nor the subscriptions, which
            // live as long as the connections that made them, need to be durable.
            orleansBuilder.AddMemoryStreams(Grains.LiveStreams.Provider);
            orleansBuilder.AddMemoryGrainStorage("PubSubStore");
            configure?.Invoke(orleansBuilder);
        });

        builder.Services.AddHealthChecks().AddCheck<SiloHealthCheck>("silo", tags: [Gateway.HealthApi.ReadyTag]);

        // SIGTERM: Orleans deactivates grains and leaves the cluster within this window, and the process ends soon after
        // even if a disposal hangs.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = silo.ShutdownTimeout);
        return builder;
    }

    /// <summary>
    /// The silo's pool: the statements a silo sends are few and repeated (the inbox's, the appends', Orleans' keys), so
    /// Npgsql prepares each once it is used twice on a connection, unless the connection string sets
    /// <c>Max Auto Prepare</c> itself. PostgreSQL then parses and plans each once per connection instead of every
    /// time (bench.sh ingest: parsing and planning were a quarter of PostgreSQL's time).
    /// </summary>
    internal static string PoolConnectionString(string? configured)
    {
        var connection = new Npgsql.NpgsqlConnectionStringBuilder(configured ?? "");
        // Npgsql's own builder cannot tell whether a key was given (its ContainsKey answers whether it knows the keyword).
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = configured ?? "" }.Keys.Cast<string>()
            .Select(key => key.Replace(" ", "", StringComparison.Ordinal)).ToHashSet(StringComparer.OrdinalIgnoreCase);
        if (!given.Contains("MaxAutoPrepare"))
        {
            connection.MaxAutoPrepare = 64;
            connection.AutoPrepareMinUsages = 2;
        }

        // PostgreSQL compiles (JIT) a plan whose estimated cost passes jit_above_cost, which the knowledge base's search
        // passes with its lexicon lookups although it runs in a few milliseconds: compiling it took ten times as long
        // as running it. Nothing the silo runs is a long analytical query that compiling would pay off for.
        if (!given.Contains("Options"))
        {
            connection.Options = "-c jit=off";
        }

        // Nothing the silo runs leaves session state behind (settings are SET LOCAL, advisory locks transaction-scoped,
        // no LISTEN or temporary tables), so a connection goes back to the pool without a reset round trip.
        if (!given.Contains("NoResetOnClose"))
        {
            connection.NoResetOnClose = true;
        }

        return connection.ConnectionString;
    }
}


public static class SiloEndpointExtensions
{
    /// <summary>The silo's routes: the gateway's API and webhooks, the models' health, and the Orleans dashboard at
    /// /dashboard (operators' keys only). With <see cref="SiloOptions.ManagementPort"/>, the operators' routes are
    /// served on that port only, and it serves nothing else.</summary>
    public static WebApplication MapCustomerGrainsSilo(this WebApplication app)
    {
        var management = app.Services.GetRequiredService<IOptions<SiloOptions>>().Value.ManagementPort;
        if (management != 0)
        {
            app.Use((http, next) =>
            {
                var operators = SiloOptions.ManagementRoutes.Any(route => http.Request.Path.StartsWithSegments(route));
                if (operators != (http.Connection.LocalPort == management))
                {
                    http.Response.StatusCode = StatusCodes.Status404NotFound;
                    return Task.CompletedTask;
                }

                return next(http);
            });
        }

        app.MapGatewayApi();
        app.MapInferenceHealthApi();
        app.MapOrleansDashboard("/dashboard").AddEndpointFilter<DashboardAccess>();
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }
}
