using System.Text;
using CustomerGrains.Inference;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace CustomerGrains.Console.Tests;

/// <summary>
/// A silo (with the scripted tiny decoder as its model and the support knowledge base) on a real PostgreSQL, and a
/// headless chromium: Debian's (deploy/scripts/chromium.sh, CUSTOMERGRAINS_CHROMIUM), since Playwright cannot download
/// its own here.
/// </summary>
public sealed class ConsoleSite : IAsyncLifetime
{
    public const string Script = "Your order has been shipped [S1]. Thank you for contacting support!";

    private FakeHubSpot _hubSpot = null!;

    /// <summary>The custom CRM (connection crm1) that replies are sent to.</summary>
    public FakeCrm Crm { get; private set; } = null!;
    private IPlaywright _playwright = null!;

    /// <summary>Chatwoot's history API for connection cw1, which the admin page imports from.</summary>
    public FakeCrmHistory History { get; private set; } = null!;

    public TestCluster Cluster { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    public Uri Url => Cluster.Silos[0].PublicUrl;

    public async Task InitializeAsync()
    {
        var model = ScratchFolder.Create("cg-console-model-");
        ModelMaker.TinyDecoder.WriteScripted(model, ModelMaker.DecoderSize.Tiny, Script, (path, text) =>
        {
            using var tokenizer = Inference.Tokenization.TextTokenizer.Load(path);
            return tokenizer.Encode(text);
        });
        _hubSpot = await FakeHubSpot.StartAsync();
        Crm = await FakeCrm.StartAsync();
        History = await FakeCrmHistory.StartAsync();
        var options = GatewayTestOptions.Create(_hubSpot.BaseUrl);
        options.Configuration["Tenants:acme:Connections:cw1:Options:ApiBaseUrl"] = History.BaseUrl;
        options.Configuration["Tenants:acme:Connections:cw1:Options:AccessToken"] = FakeCrmHistory.Token;
        options.Configuration["Tenants:acme:Connections:cw1:Options:AccountId"] = "1";
        options.Configuration["History:PollInterval"] = "00:00:00.200";
        options.Configuration["Tenants:acme:Connections:crm1:Options:ReplyUrl"] = $"{Crm.BaseUrl.TrimEnd('/')}/reply";
        options.Configuration["Replies:PollInterval"] = "00:00:00.200";
        options.Configuration["Inference:Models:default:Path"] = model;
        var configure = options.ConfigureSilo!;
        options.ConfigureSilo = builder =>
        {
            configure(builder);
            builder.Services.AddInference(builder.Configuration);
        };
        Cluster = await TestCluster.StartAsync(1, options);
        using var senior = Cluster.Silos[0].CreateClient();
        senior.DefaultRequestHeaders.Authorization = new("Bearer", GatewayTestOptions.AcmeSenior);
        (await senior.PostAsync("/v1/kb/import", new StringContent(File.ReadAllText(Fixtures.Path("kb", "support-kb.json")), Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Environment.GetEnvironmentVariable("CUSTOMERGRAINS_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium",
            Headless = true,
        });
    }

    public async Task DisposeAsync()
    {
        await Browser.DisposeAsync();
        _playwright.Dispose();
        await Cluster.DisposeAsync();
        await _hubSpot.DisposeAsync();
        await Crm.DisposeAsync();
        await History.DisposeAsync();
    }

    /// <summary>A fresh browser context (its own tab storage, so its own sign-in) at the given size, in English.</summary>
    public async Task<IPage> OpenAsync(int width = 1280, int height = 800, string locale = "en-US")
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = Url.ToString(),
            ViewportSize = new ViewportSize { Width = width, Height = height },
            Locale = locale,
        });
        return await context.NewPageAsync();
    }

    /// <summary>Signs in with the key through the form, as a person would.</summary>
    public static async Task SignInAsync(IPage page, string key, string hash = "")
    {
        await page.GotoAsync("/" + hash);
        await page.GetByLabel("API key").FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Sign out" })).ToBeVisibleAsync();
    }

    /// <summary>Saves the page as it ends under TestResults/console/, for a person to look at.</summary>
    public static async Task ScreenshotAsync(IPage page, string name)
    {
        var folder = Path.Combine(Path.GetDirectoryName(Fixtures.InRepository("CustomerGrains.sln"))!, "TestResults", "console");
        Directory.CreateDirectory(folder);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(folder, name + ".png"), FullPage = true });
    }
}
