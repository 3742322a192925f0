using System.Reflection;
using CustomerGrains.Runtime.Activation;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerGrains.Runtime.Calls;

/// <summary>
/// The proxy behind every grain reference: turns an interface call into a routed grain call. Built on
/// <see cref="DispatchProxy"/> (Orleans generates proxies at compile time; this runtime has no source
/// generator, and each method's invoker is compiled once, so the per-call cost is one dictionary lookup).
/// </summary>
public class GrainReference : DispatchProxy
{
    private GrainId _grainId;
    private GrainClass? _grainClass;
    private GrainCallDispatcher? _dispatcher;

    public override string ToString() => _grainId.ToString();

    internal void Initialize(GrainId grainId, GrainClass grainClass, GrainCallDispatcher dispatcher)
    {
        _grainId = grainId;
        _grainClass = grainClass;
        _dispatcher = dispatcher;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        if (targetMethod is null || !_grainClass!.Methods.TryGetValue(targetMethod, out var method))
        {
            throw new UnknownGrainException($"{targetMethod?.Name ?? "(null)"} is not a method of grain type '{_grainId.Type}'.");
        }

        return method.Call(_dispatcher!, _grainId, args ?? []);
    }
}

/// <summary>Hands out grain references for this silo.</summary>
internal sealed class GrainFactory(GrainTypeRegistry registry, IServiceProvider services) : IGrainFactory
{
    private GrainCallDispatcher? _dispatcher;

    // Resolved on first use: the dispatcher (through the activations it creates) depends on this factory.
    private GrainCallDispatcher Dispatcher => _dispatcher ??= services.GetRequiredService<GrainCallDispatcher>();

    public TGrainInterface GetGrain<TGrainInterface>(string key)
        where TGrainInterface : IGrainWithStringKey
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var grainClass = registry.GetByInterface(typeof(TGrainInterface));
        var proxy = DispatchProxy.Create<TGrainInterface, GrainReference>();
        ((GrainReference)(object)proxy).Initialize(new GrainId(grainClass.TypeName, key), grainClass, Dispatcher);
        return proxy;
    }
}
