using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace CustomerGrains.Silo.Tests;

/// <summary>
/// deploy/: what can be checked without a registry or a cluster. The Kubernetes manifests and the compose file are
/// parsed and held to what operators rely on (probes on the silo's health endpoints, resources, non-root, a drain
/// before SIGTERM, selectors that match); the image's entry point and environment run the built silo as a plain
/// process, which must become ready and drain on SIGTERM.
/// </summary>
public sealed partial class DeploymentManifestTests
{
    private static List<YamlMappingNode> Documents(params string[] path)
    {
        var stream = new YamlStream();
        using var reader = new StringReader(File.ReadAllText(Fixtures.InRepository(path)));
        stream.Load(new YamlDotNet.Core.MergingParser(new YamlDotNet.Core.Parser(reader))); // compose's "<<:" merge keys, as Docker reads them
        return stream.Documents.Select(d => (YamlMappingNode)d.RootNode).ToList();
    }

    private static YamlNode? At(YamlNode node, params string[] keys)
    {
        foreach (var key in keys)
        {
            if (node is not YamlMappingNode map || !map.Children.TryGetValue(new YamlScalarNode(key), out var next))
            {
                return null;
            }

            node = next;
        }

        return node;
    }

    private static string? Text(YamlNode node, params string[] keys) => (At(node, keys) as YamlScalarNode)?.Value;

    [Fact]
    public void The_kubernetes_deployment_probes_health_limits_resources_runs_unprivileged_and_drains_before_sigterm()
    {
        var documents = Documents("deploy", "kubernetes", "customergrains.yaml");
        var byKind = documents.ToLookup(d => Text(d, "kind"));
        foreach (var kind in new[] { "Secret", "ServiceAccount", "Role", "RoleBinding", "Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "Ingress", "NetworkPolicy" })
        {
            Assert.True(byKind[kind].Any(), $"no {kind}");
        }

        var deployment = byKind["Deployment"].Single();
        var pod = At(deployment, "spec", "template")!;
        Assert.Equal("true", Text(pod, "spec", "securityContext", "runAsNonRoot"));
        var containers = ((YamlSequenceNode)At(pod, "spec", "containers")!).Children;
        Assert.NotEmpty(containers);
        foreach (var container in containers)
        {
            Assert.Equal("/health/ready", Text(container, "readinessProbe", "httpGet", "path"));
            Assert.Equal("/health/live", Text(container, "livenessProbe", "httpGet", "path"));
            foreach (var bound in new[] { "requests", "limits" })
            {
                Assert.NotNull(Text(container, "resources", bound, "cpu"));
                Assert.NotNull(Text(container, "resources", bound, "memory"));
            }

            Assert.Equal("true", Text(container, "securityContext", "runAsNonRoot"));
            Assert.Equal("false", Text(container, "securityContext", "allowPrivilegeEscalation"));
            var preStop = int.Parse(Text(container, "lifecycle", "preStop", "sleep", "seconds")!, System.Globalization.CultureInfo.InvariantCulture);
            var grace = int.Parse(Text(pod, "spec", "terminationGracePeriodSeconds")!, System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(grace >= preStop + 30, $"{grace} s of grace leave the silo less than 30 s to drain after a {preStop} s preStop");
            var env = ((YamlSequenceNode)At(container, "env")!).Children.Select(e => Text(e, "name")).ToHashSet();
            Assert.Superset(new HashSet<string?> { "Orleans__KubernetesHosting", "POD_IP", "POD_NAME", "POD_NAMESPACE", "ORLEANS_SERVICE_ID", "ORLEANS_CLUSTER_ID" }, env);
            Assert.Equal("customergrains", Text(((YamlSequenceNode)At(container, "envFrom")!).Children[0], "secretRef", "name"));
        }

        // The Service, the disruption budget and the autoscaler all find the Deployment's pods; the Secret names the database.
        var labels = (YamlMappingNode)At(pod, "metadata", "labels")!;
        foreach (var selector in new[] { At(byKind["Service"].Single(), "spec", "selector")!, At(byKind["PodDisruptionBudget"].Single(), "spec", "selector", "matchLabels")! })
        {
            Assert.All(((YamlMappingNode)selector).Children, label => Assert.Equal(label.Value, labels.Children[label.Key]));
        }

        Assert.Equal(Text(deployment, "metadata", "name"), Text(byKind["HorizontalPodAutoscaler"].Single(), "spec", "scaleTargetRef", "name"));
        Assert.NotNull(Text(byKind["Secret"].Single(), "stringData", "Database__ConnectionString"));
        Assert.NotNull(Text(pod, "metadata", "labels", "orleans/serviceId"));
        Assert.NotNull(Text(pod, "metadata", "labels", "orleans/clusterId"));

        // Silo-to-silo messaging is unauthenticated: only the silos reach it, and no client gateway port is declared.
        var ports = containers.SelectMany(c => ((YamlSequenceNode)At(c, "ports")!).Children).Select(p => Text(p, "name")).ToList();
        Assert.Equal(["http", "management", "silo"], ports);
        Assert.Equal("9090", Text(pod, "metadata", "annotations", "prometheus.io/port")); // scraped on the operators' port

        // The ingress terminates TLS and routes to the public port only.
        var ingress = byKind["Ingress"].Single();
        Assert.NotNull(Text(((YamlSequenceNode)At(ingress, "spec", "tls")!).Children[0], "secretName"));
        Assert.Equal("true", Text(ingress, "metadata", "annotations", "nginx.ingress.kubernetes.io/ssl-redirect"));
        var backends = ((YamlSequenceNode)At(((YamlSequenceNode)At(ingress, "spec", "rules")!).Children[0], "http", "paths")!).Children;
        Assert.All(backends, b => Assert.Equal("http", Text(b, "backend", "service", "port", "name")));
        var policy = byKind["NetworkPolicy"].Single();
        Assert.All(((YamlMappingNode)At(policy, "spec", "podSelector", "matchLabels")!).Children, label => Assert.Equal(label.Value, labels.Children[label.Key]));
        var rules = ((YamlSequenceNode)At(policy, "spec", "ingress")!).Children;
        var siloRule = Assert.Single(rules, r => ((YamlSequenceNode)At(r, "ports")!).Children.Any(p => Text(p, "port") == "silo"));
        var from = Assert.Single(((YamlSequenceNode)At(siloRule, "from")!).Children);
        Assert.All(((YamlMappingNode)At(from, "podSelector", "matchLabels")!).Children, label => Assert.Equal(label.Value, labels.Children[label.Key]));
    }

    [Fact]
    public void Compose_runs_postgres_three_silos_each_advertising_its_own_address_and_a_balancer_over_all_three()
    {
        var compose = Documents("deploy", "docker-compose.yml").Single();
        var services = (YamlMappingNode)At(compose, "services")!;
        var silos = new[] { "silo1", "silo2", "silo3" };
        Assert.Superset(new HashSet<string>(["postgres", "loadbalancer", .. silos]), services.Children.Keys.Select(k => ((YamlScalarNode)k).Value!).ToHashSet());
        foreach (var name in silos)
        {
            var silo = services.Children[new YamlScalarNode(name)];
            var address = Text(silo, "networks", "cluster", "ipv4_address");
            Assert.NotNull(address);
            Assert.Equal(address, Text(silo, "environment", "Orleans__AdvertisedIP"));
            Assert.NotNull(Text(silo, "environment", "Database__ConnectionString"));
            Assert.Equal("deploy/docker/Dockerfile", Text(silo, "build", "dockerfile"));
        }

        var nginx = File.ReadAllText(Fixtures.InRepository("deploy", "docker", "nginx.conf"));
        Assert.All(silos, s => Assert.Contains($"server {s}:8080", nginx, StringComparison.Ordinal));
        Assert.Contains("proxy_buffering off", nginx, StringComparison.Ordinal); // server-sent events go through unbuffered

        // Keys travel over TLS only, and the operators' routes are not routed from outside.
        Assert.Contains("listen 8443 ssl", nginx, StringComparison.Ordinal);
        Assert.Contains("Strict-Transport-Security", nginx, StringComparison.Ordinal);
        Assert.Contains("return 301 https://", nginx, StringComparison.Ordinal);
        Assert.Contains("location ~ ^/(metrics|dashboard|openapi)(/|$) {\n      return 404;", nginx, StringComparison.Ordinal);
        Assert.DoesNotContain(":9090", nginx, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Dockerfile")]
    [InlineData("Dockerfile.cuda")]
    public async Task The_images_entry_point_and_environment_run_the_silo_unprivileged_and_it_drains_on_sigterm(string dockerfile)
    {
        var text = File.ReadAllText(Fixtures.InRepository("deploy", "docker", dockerfile));
        var final = text[text.LastIndexOf("\nFROM ", StringComparison.Ordinal)..];
        Assert.Matches(@"\nUSER (app|1654)\s", final);
        Assert.Equal("[\"dotnet\", \"CustomerGrains.Silo.dll\"]", EntryPoint().Match(final).Groups[1].Value);
        Assert.Contains("dotnet publish Silo/CustomerGrains.Silo.csproj", text, StringComparison.Ordinal);

        // The image's environment, ports aside (they are the container's own), on the built silo as a plain process.
        var environment = Environment().Matches(final[final.IndexOf("ENV ", StringComparison.Ordinal)..final.IndexOf("EXPOSE", StringComparison.Ordinal)])
            .ToDictionary(m => m.Groups[1].Value.Replace("__", ":", StringComparison.Ordinal), m => (string?)m.Groups[2].Value);
        foreach (var port in new[] { "Silo:Port", "Silo:ManagementPort", "Orleans:SiloPort" })
        {
            Assert.True(environment.Remove(port), $"the image sets no {port}");
        }

        // Orleans' client gateway takes grain calls without authentication: the image opens none.
        Assert.False(environment.ContainsKey("Orleans:GatewayPort"), "the image opens Orleans' client gateway");
        Assert.DoesNotContain("30000", final, StringComparison.Ordinal);

        environment["Inference:Provider"] = "cpu"; // the GPU image's cuda needs a GPU; the rest is the same silo
        await using var database = await TestDatabase.CreateAsync();
        await using var silo = await SiloProcess.StartAsync(database, environment);
        using var client = silo.CreateClient();
        Assert.True((await client.GetAsync("/health/ready")).IsSuccessStatusCode, silo.Output);
        Assert.Equal(0, await silo.TerminateAsync(TimeSpan.FromSeconds(30)));
    }

    [GeneratedRegex(@"\nENTRYPOINT (\[.*\])")]
    private static partial Regex EntryPoint();

    [GeneratedRegex(@"(\w+)=(\S+)")]
    private static partial Regex Environment();
}
