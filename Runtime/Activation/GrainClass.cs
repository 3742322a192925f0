using System.Collections.Frozen;
using System.Reflection;
using CustomerGrains.Runtime.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace CustomerGrains.Runtime.Activation;

/// <summary>A registered grain class: its type name, how to construct it and its methods.</summary>
internal sealed class GrainClass
{
    private readonly (Type StateType, string StateName)[] _states;
    private readonly ObjectFactory _factory;

    public GrainClass(Type classType, IReadOnlyList<Type> interfaces)
    {
        ClassType = classType;
        TypeName = TypeNameOf(classType);
        var worker = classType.GetCustomAttribute<StatelessWorkerAttribute>();
        IsStatelessWorker = worker is not null;
        MaxLocalWorkers = worker is { MaxLocalWorkers: > 0 } ? worker.MaxLocalWorkers : Environment.ProcessorCount;

        var constructors = classType.GetConstructors();
        if (constructors.Length != 1)
        {
            throw new InvalidOperationException($"Grain class {classType.FullName} must have exactly one public constructor.");
        }

        _states = constructors[0].GetParameters()
            .Where(p => p.GetCustomAttribute<PersistentStateAttribute>() is not null)
            .Select(p =>
            {
                if (!p.ParameterType.IsGenericType || p.ParameterType.GetGenericTypeDefinition() != typeof(IPersistentState<>))
                {
                    throw new InvalidOperationException($"Parameter '{p.Name}' of {classType.Name} has [PersistentState] but is not an IPersistentState<T>.");
                }

                return (p.ParameterType.GetGenericArguments()[0], p.GetCustomAttribute<PersistentStateAttribute>()!.StateName);
            })
            .ToArray();
        _factory = ActivatorUtilities.CreateFactory(classType, _states.Select(s => typeof(IPersistentState<>).MakeGenericType(s.StateType)).ToArray());

        var methods = new Dictionary<MethodInfo, GrainMethod>();
        foreach (var method in interfaces.SelectMany(i => i.GetMethods().Concat(i.GetInterfaces().SelectMany(b => b.GetMethods()))))
        {
            if (!methods.ContainsKey(method))
            {
                methods[method] = GrainMethod.Create(this, method);
            }
        }

        Methods = methods.ToFrozenDictionary();
        MethodsByWireName = methods.Values.DistinctBy(m => m.WireName).ToFrozenDictionary(m => m.WireName, StringComparer.Ordinal);
    }

    public Type ClassType { get; }

    /// <summary>The type part of this class's grain ids, stored with state and sent between silos.</summary>
    public string TypeName { get; }

    public bool IsStatelessWorker { get; }

    public int MaxLocalWorkers { get; }

    public FrozenDictionary<MethodInfo, GrainMethod> Methods { get; }

    public FrozenDictionary<string, GrainMethod> MethodsByWireName { get; }

    public static string TypeNameOf(Type classType)
    {
        if (classType.GetCustomAttribute<GrainTypeAttribute>() is { } attribute)
        {
            return attribute.Name;
        }

        var name = classType.Name;
        return (name.EndsWith("Grain", StringComparison.Ordinal) && name.Length > 5 ? name[..^5] : name).ToLowerInvariant();
    }

    /// <summary>Creates a grain instance with its persistent states (not yet read).</summary>
    public (Grain Grain, IPersistentStateLoader[] States) Create(IServiceProvider services, GrainId grainId, IGrainStorage storage)
    {
        var states = new object[_states.Length];
        for (var i = 0; i < _states.Length; i++)
        {
            var stateType = typeof(PersistentState<>).MakeGenericType(_states[i].StateType);
            states[i] = Activator.CreateInstance(stateType, grainId, _states[i].StateName, storage, GrainJson.Options)!;
        }

        var grain = (Grain)_factory(services, states);
        return (grain, states.Cast<IPersistentStateLoader>().ToArray());
    }
}
