using CustomerGrains.Gateway;
using CustomerGrains.Gateway.AgentConsole;
using CustomerGrains.Gateway.Customers;
using CustomerGrains.Gateway.History;
using CustomerGrains.Gateway.Inbox;
using CustomerGrains.Gateway.Knowledge;
using CustomerGrains.Gateway.Mediation;
using CustomerGrains.Gateway.Replies;
using CustomerGrains.Gateway.Tenants;
using CustomerGrains.Gateway.Webhooks;
using System.Text.Json;
using System.Text.Json.Serialization;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

public static class GatewayServiceCollectionExtensions
{
    /// <summary>Adds the gateway: tenants (section <c>Tenants</c>, validated now, every failure at once), webhook
    /// providers, the inbox and its dispatcher (section <c>Inbox</c>), the agent API's MediatR handlers and behaviours,
    /// Problem Details and the OpenAPI document.</summary>
    /// <exception cref="OptionsValidationException">The tenant configuration is invalid.</exception>
    public static IServiceCollection AddGateway(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(new TenantRegistry(configuration));
        services.AddOptionsWithValidateOnStart<InboxOptions>().Bind(configuration.GetSection(InboxOptions.SectionName));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<InboxOptions>, InboxOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);

        services.AddSingleton<IWebhookProvider, ChatwootProvider>();
        services.AddSingleton<IWebhookProvider, ZendeskProvider>();
        services.AddSingleton<IWebhookProvider, IntercomProvider>();
        services.AddSingleton<IWebhookProvider, HubSpotProvider>();
        services.AddSingleton<IWebhookProvider, StandardWebhooksProvider>();
        services.AddHostedService<ConnectionIdentityMigration>(); // before delivery starts
        services.AddSingleton<InboxStore>();
        services.AddSingleton<InboxDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<InboxDispatcher>());
        services.AddHttpClient<HubSpotClient>(http => http.Timeout = TimeSpan.FromSeconds(10));
        services.AddOptionsWithValidateOnStart<ReplyOptions>().Bind(configuration.GetSection(ReplyOptions.SectionName))
            .Validate(o => o.MaxAttempts >= 1 && o.PollInterval > TimeSpan.Zero && o.ClaimTimeout > TimeSpan.FromSeconds(15),
                "Replies:MaxAttempts must be at least 1, Replies:PollInterval positive and Replies:ClaimTimeout over 15 s (a CRM's answer takes up to 10).");
        services.AddSingleton<ReplyStore>();
        services.AddHttpClient<IReplySender, ChatwootReplies>(http => http.Timeout = TimeSpan.FromSeconds(10));
        services.AddHttpClient<IReplySender, ZendeskReplies>(http => http.Timeout = TimeSpan.FromSeconds(10));
        services.AddHttpClient<IReplySender, IntercomReplies>(http => http.Timeout = TimeSpan.FromSeconds(10));
        services.AddHttpClient<IReplySender, HubSpotReplies>(http => http.Timeout = TimeSpan.FromSeconds(10));
        services.AddHttpClient<IReplySender, StandardReplies>(http => http.Timeout = TimeSpan.FromSeconds(10));
        services.AddSingleton<ReplyDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<ReplyDispatcher>());
        services.AddOptionsWithValidateOnStart<HistoryOptions>().Bind(configuration.GetSection(HistoryOptions.SectionName))
            .Validate(o => o.PollInterval > TimeSpan.Zero && o.LeaseTimeout >= TimeSpan.FromSeconds(15) && o.Concurrency >= 1 && o.MaxAttempts >= 1 && o.ReconcileFirstWindow > TimeSpan.Zero,
                "History:PollInterval and History:ReconcileFirstWindow must be positive, History:LeaseTimeout at least 15 s, History:Concurrency and History:MaxAttempts at least 1.");
        services.AddSingleton<HistoryStore>();
        services.AddHttpClient<IHistoryReader, ChatwootHistory>(http => http.Timeout = TimeSpan.FromSeconds(30));
        services.AddHttpClient<IHistoryReader, ZendeskHistory>(http => http.Timeout = TimeSpan.FromSeconds(30));
        services.AddHttpClient<IHistoryReader, IntercomHistory>(http => http.Timeout = TimeSpan.FromSeconds(30));
        services.AddHttpClient<IHistoryReader, HubSpotHistory>(http => http.Timeout = TimeSpan.FromSeconds(30));
        services.AddSingleton<HistoryImporter>();
        services.AddHostedService(sp => sp.GetRequiredService<HistoryImporter>());
        services.AddSingleton<AuditLog>();
        services.AddScoped<CustomerResolver>();
        services.AddScoped<ApiKeyFilter>();

        // MediatR 5 has no DI package in this registry: its ServiceFactory is the container itself.
        services.AddScoped<ServiceFactory>(sp => sp.GetService!);
        services.AddScoped<IMediator, Mediator>();
        services.AddTransient(typeof(IPipelineBehavior<,>), typeof(ValidationBehavior<,>));
        services.AddTransient(typeof(IPipelineBehavior<,>), typeof(AuditBehavior<,>));
        services.AddTransient<IRequestHandler<ReceiveWebhook, WebhookOutcome>, ReceiveWebhookHandler>();
        services.AddTransient<IRequestHandler<GetCustomerContext, CustomerGrains.Grains.CustomerContext>, GetCustomerContextHandler>();
        services.AddTransient<IRequestHandler<IngestInteraction, CustomerGrains.Grains.AppendResult>, IngestInteractionHandler>();
        services.AddTransient<IRequestHandler<UpdatePreferences, CustomerGrains.Grains.Preferences>, UpdatePreferencesHandler>();
        services.AddTransient<IRequestHandler<EraseCustomer, bool>, EraseCustomerHandler>();
        services.AddTransient<IRequestHandler<ExportCustomer, CustomerGrains.Grains.CustomerExport>, ExportCustomerHandler>();
        services.AddTransient<IRequestHandler<SuggestReplies, CustomerGrains.Grains.SuggestionResult>, SuggestRepliesHandler>();
        services.AddTransient<IRequestHandler<StreamSuggestions, IAsyncEnumerable<CustomerGrains.Grains.SuggestionEvent>>, StreamSuggestionsHandler>();
        services.AddTransient<IRequestHandler<RecordFeedback, bool>, RecordFeedbackHandler>();
        services.AddTransient<IRequestHandler<ListCustomers, CustomerGrains.Grains.CustomerListPage>, ListCustomersHandler>();
        services.AddTransient<IRequestHandler<GetConversation, CustomerGrains.Grains.ConversationPage>, GetConversationHandler>();
        services.AddTransient<IRequestHandler<SendReply, (ReplyView, string)>, SendReplyHandler>();
        services.AddTransient<IRequestHandler<GetReply, ReplyView>, GetReplyHandler>();
        services.AddTransient<IRequestHandler<GetSuggestionReport, SuggestionReport>, GetSuggestionReportHandler>();
        services.AddTransient<IRequestHandler<ListConnections, IReadOnlyList<ConnectionView>>, ConnectionHandlers>();
        services.AddTransient<IRequestHandler<GetImport, HistoryRun>, ConnectionHandlers>();
        services.AddTransient<IRequestHandler<StartImport, HistoryRun>, ConnectionHandlers>();
        AddKnowledgeHandler<CreateEntry, CustomerGrains.Grains.KbEntry>(services);
        AddKnowledgeHandler<GetEntry, CustomerGrains.Grains.KbEntry>(services);
        AddKnowledgeHandler<UpdateEntry, CustomerGrains.Grains.KbEntry>(services);
        AddKnowledgeHandler<DeleteEntry, bool>(services);
        AddKnowledgeHandler<ImportEntries, int>(services);
        AddKnowledgeHandler<ExportEntries, IReadOnlyList<CustomerGrains.Grains.KbEntry>>(services);
        AddKnowledgeHandler<Ask, CustomerGrains.Grains.AskResult>(services);
        AddKnowledgeHandler<GetQuestion, CustomerGrains.Grains.KbQuestion>(services);
        AddKnowledgeHandler<ListQuestions, IReadOnlyList<CustomerGrains.Grains.KbQuestion>>(services);
        AddKnowledgeHandler<Escalate, CustomerGrains.Grains.KbQuestion>(services);
        AddKnowledgeHandler<AnswerQuestion, CustomerGrains.Grains.KbQuestion>(services);
        AddKnowledgeHandler<PickSimilar, CustomerGrains.Grains.KbQuestion>(services);
        AddKnowledgeHandler<PromoteReply, CustomerGrains.Grains.KbEntry>(services);
        services.AddHttpClient<EscalationNotifier>();
        services.AddHostedService(sp => sp.GetRequiredService<EscalationNotifier>());

        // Enums as their names ("inbound"), in the API and in stored inbox payloads alike; text storable.
        services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
            json.SerializerOptions.Converters.Add(new StorableText.Converter());
        });
        services.AddApiRateLimits(configuration);
        services.AddProblemDetails();
        services.AddExceptionHandler<ProblemMapping>();
        // ProblemMapping answers 404 for what is not there (an unknown customer, entry, question) on purpose.
        services.Configure<Microsoft.AspNetCore.Builder.ExceptionHandlerOptions>(o => o.AllowStatusCode404Response = true);
        services.AddOpenApi();
        return services;
    }

    private static void AddKnowledgeHandler<TRequest, TResult>(IServiceCollection services)
        where TRequest : KnowledgeRequest<TResult> =>
        services.AddTransient<IRequestHandler<TRequest, TResult>, KnowledgeHandler<TRequest, TResult>>();

    /// <summary>Maps webhooks, the agent API, health and <c>/openapi/v1.json</c>.</summary>
    public static WebApplication MapGatewayApi(this WebApplication app)
    {
        app.UseSecurityHeaders();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseRateLimiter();
        app.UseRequestLimits();
        app.MapConsole();
        app.MapWebhooksApi();
        app.MapCustomersApi();
        app.MapKnowledgeApi();
        app.MapConnectionsApi();
        app.MapHealthApi();
        app.MapOpenApi();
        return app;
    }
}
