using CustomerGrains.Inference.Native;
using CustomerGrains.ModelMaker;

namespace CustomerGrains.Inference.Tests;

/// <summary>The ONNX Runtime binding against the real library (test.sh fetches it) and models written by ModelMaker.</summary>
public sealed class OrtBindingTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("cg-ort-").FullName;

    private static OrtRuntime Runtime => TestModels.Runtime;

    /// <summary>y = x · W + b, with x [batch, 2], W [2, 3], b [3].</summary>
    private string AffineModel()
    {
        var model = new OnnxModel("affine");
        model.Input("x", OnnxType.Float, "batch", 2);
        var w = model.Initializer("w", [1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        var b = model.Initializer("b", [0.5f, -1, 10], 3);
        model.Node("Add", [model.Op("MatMul", "x", w), b], ["y"]);
        model.Output("y", OnnxType.Float, "batch", 3);
        var path = Path.Combine(_directory, "affine.onnx");
        model.Save(path);
        return path;
    }

    [Fact]
    public void The_library_loads_and_reports_its_version()
    {
        Assert.StartsWith("1.30", Runtime.Version, StringComparison.Ordinal);
    }

    [Fact]
    public void A_model_runs_on_tensors_over_managed_memory_and_its_outputs_are_read()
    {
        using var session = Runtime.OpenSession(AffineModel(), new SessionSettings());
        using var x = Runtime.CreateTensor<float>([2, 2]);
        float[] input = [1, 0, 2, 3];
        input.CopyTo(x.Data);

        using var outputs = session.Run([OrtInput.Of("x", x)]);

        var y = outputs.Get<float>("y", out var shape);
        Assert.Equal([2L, 3L], shape);
        Assert.Equal([1.5f, 1, 13, 14.5f, 18, 34], y.ToArray()); // [1,0]·W + b, [2,3]·W + b
        Assert.Equal("cpu", session.ExecutionProvider);
    }

    [Fact]
    public void A_runtime_disposed_before_its_session_keeps_its_environment_until_the_session_goes()
    {
        var runtime = OrtRuntime.Load(TestModels.LibraryPath);
        var session = runtime.OpenSession(AffineModel(), new SessionSettings());
        var x = runtime.CreateTensor<float>([1, 2]);
        x.Data[0] = 1;
        x.Data[1] = 1;

        runtime.Dispose(); // safe handles: the environment is released only after everything made from it

        using (var outputs = session.Run([OrtInput.Of("x", x)]))
        {
            Assert.Equal(5.5f, outputs.Get<float>("y", out _)[0]);
        }

        x.Dispose();
        session.Dispose();
        Assert.Throws<ObjectDisposedException>(() => session.Run([OrtInput.Of("x", x)]));
    }

    [Fact]
    public void Inputs_and_outputs_are_described_with_names_types_and_dynamic_dimensions()
    {
        using var session = Runtime.OpenSession(AffineModel(), new SessionSettings());

        var input = Assert.Single(session.Inputs);
        Assert.Equal(("x", OrtElementType.Float), (input.Name, input.ElementType));
        Assert.Equal([-1L, 2L], input.Shape);
        Assert.Equal("y", Assert.Single(session.Outputs).Name);
    }

    [Fact]
    public async Task Runs_on_one_session_may_go_in_parallel()
    {
        using var session = Runtime.OpenSession(AffineModel(), new SessionSettings());

        var results = await Task.WhenAll(Enumerable.Range(0, 64).Select(i => Task.Run(() =>
        {
            using var x = Runtime.CreateTensor<float>([1, 2]);
            x.Data[0] = i;
            x.Data[1] = 1;
            using var outputs = session.Run([OrtInput.Of("x", x)]);
            return outputs.Get<float>("y", out _)[0];
        })));

        Assert.Equal(Enumerable.Range(0, 64).Select(i => i * 1f + 4 + 0.5f), results);
    }

    [Fact]
    public void A_wrong_input_name_is_reported_with_the_names_the_model_has()
    {
        using var session = Runtime.OpenSession(AffineModel(), new SessionSettings());
        using var x = Runtime.CreateTensor<float>([1, 2]);

        var error = Assert.Throws<OrtException>(() => session.Run([OrtInput.Of("input_ids", x)]));

        Assert.Contains("no input named 'input_ids'", error.Message, StringComparison.Ordinal);
        Assert.Contains("x", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_wrongly_shaped_input_fails_with_ORTs_own_message()
    {
        using var session = Runtime.OpenSession(AffineModel(), new SessionSettings());
        using var x = Runtime.CreateTensor<float>([1, 5]);

        var error = Assert.Throws<OrtException>(() => session.Run([OrtInput.Of("x", x)]));

        Assert.Contains("x", error.Message, StringComparison.Ordinal);
        Assert.Contains("dimension", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void A_missing_or_corrupt_model_fails_at_load_saying_what_is_wrong()
    {
        var missing = Assert.Throws<OrtException>(() => Runtime.OpenSession(Path.Combine(_directory, "none.onnx"), new SessionSettings()));
        var corruptPath = Path.Combine(_directory, "corrupt.onnx");
        File.WriteAllBytes(corruptPath, [0x08, 0xff, 0xff, 0x12, 0x7f, 0x01, 0x02]);
        var corrupt = Assert.Throws<OrtException>(() => Runtime.OpenSession(corruptPath, new SessionSettings()));

        Assert.Contains("none.onnx", missing.Message, StringComparison.Ordinal);
        Assert.Contains("corrupt.onnx", corrupt.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Asking_for_CUDA_on_a_CPU_build_fails_loudly_unless_fallback_is_allowed()
    {
        var model = AffineModel();

        var error = Assert.Throws<OrtException>(() => Runtime.OpenSession(model, new SessionSettings(SessionSettings.Cuda)));
        using var fallback = Runtime.OpenSession(model, new SessionSettings(SessionSettings.Cuda, FallbackToCpu: true));

        Assert.Contains("cannot use CUDA", error.Message, StringComparison.Ordinal);
        Assert.Contains("FallbackToCpu", error.Message, StringComparison.Ordinal);
        Assert.Equal("cpu", fallback.ExecutionProvider);
        Assert.Contains("CUDA", fallback.FallbackReason, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_execution_provider_is_rejected_at_load()
    {
        var error = Assert.Throws<OrtException>(() => Runtime.OpenSession(AffineModel(), new SessionSettings("tpu")));

        Assert.Contains("Unknown execution provider 'tpu'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_library_that_is_missing_or_not_ONNX_Runtime_is_reported()
    {
        var missing = Assert.Throws<OrtException>(() => OrtRuntime.Load(Path.Combine(_directory, "libonnxruntime.so.1")));
        var libz = new[] { "/lib/x86_64-linux-gnu/libz.so.1", "/usr/lib/x86_64-linux-gnu/libz.so.1" }.First(File.Exists);
        var notOrt = Assert.Throws<OrtException>(() => OrtRuntime.Load(libz));

        Assert.Contains("not found", missing.Message, StringComparison.Ordinal);
        Assert.Contains("no OrtGetApiBase export", notOrt.Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
