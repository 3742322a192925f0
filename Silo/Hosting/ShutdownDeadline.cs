using Microsoft.Extensions.Options;

namespace CustomerGrains.Silo.Hosting;

/// <summary>
/// Ends the silo process when a stop outlasts <see cref="SiloOptions.ShutdownTimeout"/> by <see cref="Grace"/>. The
/// host's own timeout cancels the hosted services' stops, but not the disposal after them, and Orleans' disposal can
/// wait forever (a stateless worker's activation with calls in flight: Orleans pull request 10290, "close callback
/// admission during shutdown"). An orchestrator would then kill the silo only at its own grace period, and a
/// developer's Ctrl-C would hang. Nothing acknowledged depends on the disposal: webhooks are in PostgreSQL.
/// For the executable only: a host in a test process is bounded by its test cluster instead.
/// </summary>
public static class ShutdownDeadline
{
    /// <summary>Time past the drain for disposal and the last logs.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(5);

    /// <summary>The exit code of a process whose stop did not end in time.</summary>
    public const int ExitCode = 3;

    /// <summary>Exits the process <see cref="SiloOptions.ShutdownTimeout"/> + <see cref="Grace"/> after its stop begins,
    /// unless it has ended by then.</summary>
    public static WebApplication ExitWhenStopOverruns(this WebApplication app)
    {
        var deadline = app.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout + Grace;
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ShutdownDeadline));
        app.Lifetime.ApplicationStopping.Register(() =>
        {
            // A thread of its own, not a timer: a stop that hangs may hold the thread pool too. It does not keep the
            // process alive when the stop ends in time.
            var watchdog = new Thread(() =>
            {
                Thread.Sleep(deadline);
                Log.ShutdownOverdue(logger, deadline.TotalSeconds);
                Environment.Exit(ExitCode);
            })
            {
                IsBackground = true,
                Name = "shutdown deadline",
            };
            watchdog.Start();
        });
        return app;
    }
}
