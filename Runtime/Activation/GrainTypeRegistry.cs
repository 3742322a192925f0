using System.Collections.Concurrent;
using System.Reflection;

namespace CustomerGrains.Runtime.Activation;

/// <summary>An assembly whose grain classes a silo hosts.</summary>
public sealed record GrainAssembly(Assembly Assembly);

/// <summary>Every grain class of the registered assemblies, by interface and by type name.</summary>
internal sealed class GrainTypeRegistry
{
    private readonly Dictionary<string, GrainClass> _byTypeName = new(StringComparer.Ordinal);
    private readonly Dictionary<Type, GrainClass> _byInterface = [];
    private readonly ConcurrentDictionary<Type, GrainClass> _interfaceCache = new();

    public GrainTypeRegistry(IEnumerable<GrainAssembly> assemblies)
    {
        var classes = assemblies.Select(a => a.Assembly).Distinct()
            .SelectMany(a => a.GetTypes())
            .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(Grain).IsAssignableFrom(t));
        foreach (var classType in classes)
        {
            var interfaces = classType.GetInterfaces()
                .Where(i => typeof(IGrainWithStringKey).IsAssignableFrom(i) && i != typeof(IGrainWithStringKey) && i != typeof(IGrain))
                .ToList();
            if (interfaces.Count == 0)
            {
                continue;
            }

            var grainClass = new GrainClass(classType, interfaces);
            if (_byTypeName.TryGetValue(grainClass.TypeName, out var other))
            {
                throw new InvalidOperationException($"Grain classes {other.ClassType.FullName} and {classType.FullName} share the type name '{grainClass.TypeName}'; give one a [GrainType] name.");
            }

            _byTypeName[grainClass.TypeName] = grainClass;
            foreach (var grainInterface in interfaces)
            {
                if (_byInterface.TryGetValue(grainInterface, out var existing))
                {
                    throw new InvalidOperationException($"Grain interface {grainInterface.FullName} is implemented by both {existing.ClassType.FullName} and {classType.FullName}; a grain interface needs exactly one class.");
                }

                _byInterface[grainInterface] = grainClass;
            }
        }
    }

    public IEnumerable<GrainClass> Classes => _byTypeName.Values;

    public GrainClass GetByInterface(Type grainInterface) =>
        _interfaceCache.GetOrAdd(grainInterface, static (type, byInterface) => byInterface.TryGetValue(type, out var grainClass)
            ? grainClass
            : throw new UnknownGrainException($"No grain class implements {type.FullName}; register its assembly with AddGrains()."), _byInterface);

    public bool TryGetByTypeName(string typeName, out GrainClass grainClass) => _byTypeName.TryGetValue(typeName, out grainClass!);
}
