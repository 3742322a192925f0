using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace CustomerGrains.Grains;

/// <summary>Knowledge-base matching and FAQ settings (configuration section <c>Knowledge</c>).</summary>
public sealed class KnowledgeOptions
{
    public const string SectionName = "Knowledge";

    /// <summary>An entry scoring at least this (0 to 1) answers a question outright; below it the asker gets the most
    /// similar questions to choose from. Calibrated on tests/fixtures/kb: rephrasings with typos or other word forms
    /// score 0.40 to 0.92; unrelated questions find nothing, or at most 0.32 when they share a word.</summary>
    public double ConfidentScore { get; set; } = 0.4;

    /// <summary>A question asked this many times becomes a FAQ.</summary>
    public int FaqThreshold { get; set; } = 5;

    /// <summary>An encoder among Inference:Models whose cosine similarity reranks the lexical candidates; none: lexical
    /// matching only.</summary>
    public string? EmbeddingModel { get; set; }

    /// <summary>With an embedding model, a match scores (1 - w) x lexical + w x cosine (negative cosines count 0).
    /// ConfidentScore applies to that blend, so recalibrate it for the model.</summary>
    public double EmbeddingWeight { get; set; } = 0.5;

    /// <summary>V. K. Mueller's English-Russian dictionary in dictd's format (Debian's mueller7-dict), loaded once per
    /// database into kb_lexicon so that a question finds entries written in the other language. Unset (the default
    /// outside run.sh): matching stays within a question's language.</summary>
    public string? EnglishRussianDictionary { get; set; }

    /// <summary>MyThes thesauri by language (en, ru, uk: Debian's mythes-en-us, mythes-ru, mythes-uk), loaded once per
    /// database into kb_synonyms: a question's word meets an entry's synonym of it, weighted below the word itself.
    /// Unset (the default outside run.sh): no synonyms.</summary>
    public Dictionary<string, string> Thesauri { get; set; } = [];

    /// <summary>The folder of Apertium's Russian-Ukrainian pair (Debian's apertium-rus-ukr), whose Ukrainian analyser and
    /// Ukrainian-Russian dictionary are loaded once per database into kb_forms and kb_lexicon_uk: a Ukrainian word meets
    /// its other forms, and its Russian translations (English ones through the English-Russian dictionary). Unset (the
    /// default outside run.sh): Ukrainian words are matched as Russian-stemmed words.</summary>
    public string? UkrainianRussian { get; set; }

    /// <summary>Hunspell's Russian dictionary (Debian's hunspell-ru: ru_RU.dic, its ru_RU.aff beside it), whose verbs'
    /// families (aspects and action nouns: отменить, отменять; подключить, подключать, подключение) are loaded once per
    /// database into kb_verb_families: a question's perfective verb meets an entry's imperfective one, or its action
    /// noun, as the word itself, and takes their translations (Mueller's dictionary gives verbs in the imperfective).
    /// Unset (the default outside run.sh): the stemmer's stems of them stay apart.</summary>
    public string? RussianHunspell { get; set; }

    /// <summary>Hunspell's Ukrainian dictionary (Debian's hunspell-uk: uk_UA.dic, its uk_UA.aff beside it), whose verbs'
    /// families (скасувати, скасовувати, скасування) are loaded once per database into kb_verb_families as the Russian
    /// ones are. Unset (the default outside run.sh): the stemmer's stems of them stay apart.</summary>
    public string? UkrainianHunspell { get; set; }
}

/// <summary>Checks the Knowledge section, and that its embedding model is one of the configured models.</summary>
public sealed class KnowledgeOptionsValidator(IConfiguration configuration) : IValidateOptions<KnowledgeOptions>
{
    public ValidateOptionsResult Validate(string? name, KnowledgeOptions options)
    {
        var failures = new List<string>();
        if (options.ConfidentScore is < 0 or > 1)
        {
            failures.Add($"Knowledge:ConfidentScore must be 0 to 1, not {options.ConfidentScore}.");
        }

        if (options.FaqThreshold < 1)
        {
            failures.Add($"Knowledge:FaqThreshold must be at least 1, not {options.FaqThreshold}.");
        }

        if (options.EmbeddingWeight is < 0 or > 1)
        {
            failures.Add($"Knowledge:EmbeddingWeight must be 0 to 1, not {options.EmbeddingWeight}.");
        }

        if (!string.IsNullOrEmpty(options.EmbeddingModel) && configuration[$"Inference:Models:{options.EmbeddingModel}:Path"] is null)
        {
            failures.Add($"Knowledge:EmbeddingModel '{options.EmbeddingModel}' is not among Inference:Models.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
