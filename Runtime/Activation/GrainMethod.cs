using System.Linq.Expressions;
using CustomerGrains.Runtime.Calls;
using System.Reflection;

namespace CustomerGrains.Runtime.Activation;

/// <summary>How a method's turns may overlap with others of the same activation.</summary>
internal enum CallKind
{
    /// <summary>Exclusive: one at a time.</summary>
    Exclusive,
    /// <summary>Concurrent with other read-only calls.</summary>
    ReadOnly,
    /// <summary>Concurrent with anything.</summary>
    Interleave,
}

/// <summary>The result of a grain method returning plain <see cref="Task"/>.</summary>
internal readonly record struct VoidResult;

/// <summary>One grain interface method: its wire name, turn kind and compiled invoker.</summary>
internal abstract class GrainMethod
{
    protected GrainMethod(GrainClass grainClass, MethodInfo method, CallKind kind)
    {
        GrainClass = grainClass;
        Method = method;
        Kind = kind;
        ParameterTypes = method.GetParameters().Select(p => p.ParameterType).ToArray();
        WireName = WireNameOf(method);
    }

    public GrainClass GrainClass { get; }

    public MethodInfo Method { get; }

    public CallKind Kind { get; }

    public Type[] ParameterTypes { get; }

    /// <summary><c>{Interface}.{Method}/{arity}</c>: how the method is named between silos.</summary>
    public string WireName { get; }

    public static string WireNameOf(MethodInfo method) =>
        $"{method.DeclaringType!.Name}.{method.Name}/{method.GetParameters().Length}";

    /// <summary>Calls the method through the dispatcher; returns the Task the proxy hands to the caller.</summary>
    public abstract object Call(GrainCallDispatcher dispatcher, GrainId grainId, object?[] arguments);

    /// <summary>Runs a call that arrived from another silo and writes its result to <paramref name="response"/>.</summary>
    public abstract Task ExecuteRemoteAsync(GrainCallDispatcher dispatcher, GrainId grainId, object?[] arguments, CallOrigin origin, Microsoft.AspNetCore.Http.HttpResponse response);

    public static GrainMethod Create(GrainClass grainClass, MethodInfo method)
    {
        var kind = method.GetCustomAttribute<AlwaysInterleaveAttribute>() is not null ? CallKind.Interleave
            : method.GetCustomAttribute<ReadOnlyAttribute>() is not null ? CallKind.ReadOnly
            : CallKind.Exclusive;
        foreach (var parameter in method.GetParameters())
        {
            if (parameter.ParameterType.IsByRef || parameter.IsOut)
            {
                throw new InvalidOperationException($"Grain method {method.DeclaringType!.Name}.{method.Name} has a ref or out parameter '{parameter.Name}'; grain calls can only pass values.");
            }
        }

        var returnType = method.ReturnType;
        Type resultType;
        if (returnType == typeof(Task))
        {
            resultType = typeof(VoidResult);
        }
        else if (returnType.IsGenericType && returnType.GetGenericTypeDefinition() == typeof(Task<>))
        {
            resultType = returnType.GetGenericArguments()[0];
        }
        else
        {
            throw new InvalidOperationException($"Grain method {method.DeclaringType!.Name}.{method.Name} returns {returnType.Name}; grain methods must return Task or Task<T>.");
        }

        var type = typeof(GrainMethod<>).MakeGenericType(resultType);
        return (GrainMethod)Activator.CreateInstance(type, grainClass, method, kind)!;
    }
}

/// <summary>A grain method whose result is <typeparamref name="TResult"/> (<see cref="VoidResult"/> for plain Task).</summary>
internal sealed class GrainMethod<TResult> : GrainMethod
{
    public GrainMethod(GrainClass grainClass, MethodInfo method, CallKind kind)
        : base(grainClass, method, kind)
    {
        Invoker = CompileInvoker(method);
    }

    /// <summary>Calls the method on a grain instance: <c>(grain, args) => ((IGrain)grain).Method((T0)args[0], ...)</c>.</summary>
    public Func<object, object?[], Task<TResult>> Invoker { get; }

    public override object Call(GrainCallDispatcher dispatcher, GrainId grainId, object?[] arguments) =>
        dispatcher.InvokeAsync(grainId, this, arguments, CallOrigin.Local);

    public override async Task ExecuteRemoteAsync(GrainCallDispatcher dispatcher, GrainId grainId, object?[] arguments, CallOrigin origin, Microsoft.AspNetCore.Http.HttpResponse response)
    {
        var result = await dispatcher.InvokeAsync(grainId, this, arguments, origin);
        if (typeof(TResult) == typeof(VoidResult))
        {
            response.StatusCode = StatusCodes.NoContent;
            return;
        }

        response.StatusCode = StatusCodes.Ok;
        response.ContentType = "application/json";
        WriteResult(response, result);
        await response.BodyWriter.FlushAsync();
    }

    // Synchronous into the response pipe: results are small, and Utf8JsonWriter cannot live across an await.
    private static void WriteResult(Microsoft.AspNetCore.Http.HttpResponse response, TResult result)
    {
        using var writer = new System.Text.Json.Utf8JsonWriter(response.BodyWriter);
        System.Text.Json.JsonSerializer.Serialize(writer, result, GrainJson.Options);
    }

    private static Func<object, object?[], Task<TResult>> CompileInvoker(MethodInfo method)
    {
        var grain = Expression.Parameter(typeof(object), "grain");
        var args = Expression.Parameter(typeof(object?[]), "args");
        var call = Expression.Call(
            Expression.Convert(grain, method.DeclaringType!),
            method,
            method.GetParameters().Select((p, i) => Expression.Convert(Expression.ArrayIndex(args, Expression.Constant(i)), p.ParameterType)));
        Expression body = typeof(TResult) == typeof(VoidResult)
            ? Expression.Call(typeof(GrainMethod<TResult>).GetMethod(nameof(ToVoidResult), BindingFlags.NonPublic | BindingFlags.Static)!, call)
            : call;
        return Expression.Lambda<Func<object, object?[], Task<TResult>>>(body, grain, args).Compile();
    }

    private static async Task<TResult> ToVoidResult(Task task)
    {
        await task;
        return default!;
    }

    private static class StatusCodes
    {
        public const int Ok = 200;
        public const int NoContent = 204;
    }
}
