using System.Text;
using System.Text.RegularExpressions;

namespace CustomerGrains.Inference.Chat;

/// <summary>Who says a turn of a chat prompt.</summary>
public enum ChatTurnRole
{
    System,
    User,
    Assistant,
}

/// <summary>One turn of a chat prompt.</summary>
public sealed record ChatTurn(ChatTurnRole Role, string Content);

/// <summary>
/// Chat prompts for the ONNX models served here, in ChatML (the format of the instruction-tuned models this targets,
/// e.g. Qwen2.5): each turn between <c>&lt;|im_start|&gt;role</c> and <c>&lt;|im_end|&gt;</c>, then the assistant's
/// turn opened for the model to write. Special-token markers inside a turn's text are removed first, so text a
/// customer wrote cannot close its turn and open one of its own.
/// </summary>
public static partial class ChatMl
{
    /// <summary>The model stops writing at this marker.</summary>
    public const string EndOfTurn = "<|im_end|>";

    public static string Render(IReadOnlyList<ChatTurn> turns)
    {
        var prompt = new StringBuilder();
        foreach (var turn in turns)
        {
            prompt.Append("<|im_start|>").Append(RoleName(turn.Role)).Append('\n').Append(WithoutMarkers(turn.Content)).Append(EndOfTurn).Append('\n');
        }

        return prompt.Append("<|im_start|>assistant\n").ToString();
    }

    /// <summary>The text without anything shaped like a special token (<c>&lt;|im_start|&gt;</c>, <c>&lt;|eot_id|&gt;</c>, ...).</summary>
    public static string WithoutMarkers(string text) => text.Contains("<|", StringComparison.Ordinal) ? Marker().Replace(text, "") : text;

    public static string RoleName(ChatTurnRole role) => role switch
    {
        ChatTurnRole.System => "system",
        ChatTurnRole.User => "user",
        _ => "assistant",
    };

    [GeneratedRegex(@"<\|[A-Za-z0-9_]{1,40}\|>")]
    private static partial Regex Marker();
}
