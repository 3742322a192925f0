namespace CustomerGrains.Inference;

/// <summary>Sees every prompt a model is given, exactly as given, before it runs (tests assert on it; an operator
/// could record hashes). Asynchronous, so an observer that writes somewhere does not hold a thread.</summary>
public interface IInferenceObserver
{
    ValueTask OnPromptAsync(string model, string prompt);
}
