namespace CustomerGrains.Runtime;

/// <summary>Marker for every grain interface.</summary>
public interface IGrain;

/// <summary>
/// A grain addressed by a string key. Every method must return <see cref="Task"/> or <see cref="Task{TResult}"/>;
/// arguments and results cross silos as JSON, so they should be records or other plain data.
/// </summary>
public interface IGrainWithStringKey : IGrain;

/// <summary>Hands out references to grains. The same references work from grains, the gateway and tests.</summary>
public interface IGrainFactory
{
    /// <summary>A reference to the grain of <typeparamref name="TGrainInterface"/> with <paramref name="key"/>.
    /// Creating a reference is cheap and does not activate the grain; the first call does.</summary>
    TGrainInterface GetGrain<TGrainInterface>(string key)
        where TGrainInterface : IGrainWithStringKey;
}
