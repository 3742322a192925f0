using CustomerGrains.Inference.Onnx;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace CustomerGrains.Inference.Tests;

/// <summary>Models opened and run through ONNX Runtime's managed API (the Microsoft.ML.OnnxRuntime package the build
/// carries), on models written by ModelMaker.</summary>
public sealed class ModelSessionTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("cg-ort-").FullName;

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

    /// <summary>A toy KV cache: present = Concat(past, x) along the sequence axis, so each run's output is one longer.</summary>
    private string GrowingModel()
    {
        var model = new OnnxModel("growing");
        model.Input("past", OnnxType.Float, 1, "past");
        model.Input("x", OnnxType.Float, 1, "new");
        model.Node("Concat", ["past", "x"], ["present"], ("axis", 1L));
        model.Output("present", OnnxType.Float, 1, "total");
        var path = Path.Combine(_directory, "growing.onnx");
        model.Save(path);
        return path;
    }

    [Fact]
    public void The_runtime_is_ONNX_Runtime_1_32_from_its_package()
    {
        Assert.StartsWith("1.32.", ModelSession.RuntimeVersion, StringComparison.Ordinal);
    }

    [Fact]
    public void A_model_runs_and_its_outputs_are_read_by_name()
    {
        using var session = ModelSession.Open(AffineModel(), new SessionSettings());
        using var run = new ModelRun(session);
        using var x = Tensors.Of<float>([1, 0, 2, 3], 2, 2);

        using var outputs = run.Run([("x", x)], ["y"]);

        var y = outputs.Get<float>("y", out var shape);
        Assert.Equal([2L, 3L], shape);
        Assert.Equal([1.5f, 1, 13, 14.5f, 18, 34], y.ToArray()); // [1,0]·W + b, [2,3]·W + b
        Assert.Equal("cpu", session.Provider);
    }

    [Fact]
    public void A_model_whose_weights_are_saved_as_external_data_beside_it_loads_and_runs_the_same()
    {
        var model = new OnnxModel("external");
        model.Input("x", OnnxType.Float, "batch", 512);
        var weights = Enumerable.Range(0, 512 * 4).Select(i => (float)Math.Sin(i)).ToArray();
        model.Node("MatMul", ["x", model.Initializer("w", weights, 512, 4)], ["y"]);
        model.Output("y", OnnxType.Float, "batch", 4);
        var inline = Path.Combine(_directory, "inline.onnx");
        var external = Path.Combine(_directory, "external", "model.onnx");
        model.Save(inline);
        model.Save(external, inlineUpTo: 1024);

        float[] Run(string path)
        {
            using var session = ModelSession.Open(path, new SessionSettings());
            using var x = Tensors.Of<float>(Enumerable.Range(0, 512).Select(i => i / 512f).ToArray(), 1, 512);
            using var run = new ModelRun(session);
            using var outputs = run.Run([("x", x)], ["y"]);
            return outputs.Get<float>("y", out _).ToArray();
        }

        Assert.Equal(512 * 4 * sizeof(float), new FileInfo(external + ".data").Length);
        Assert.True(new FileInfo(external).Length < 1024, "the weights are still inside model.onnx");
        Assert.Equal(Run(inline), Run(external));
    }

    [Fact]
    public void An_output_taken_from_one_run_is_bound_as_the_next_runs_input()
    {
        using var session = ModelSession.Open(GrowingModel(), new SessionSettings());
        using var run = new ModelRun(session);
        var past = Tensors.Allocate<float>(1, 0);
        try
        {
            for (var step = 1; step <= 3; step++)
            {
                using var x = Tensors.Of<float>([step], 1, 1);
                using var outputs = run.Run([("past", past), ("x", x)], ["present"]);
                past.Dispose();
                past = outputs.Take("present"); // this run's present is the next run's past, as a KV cache is fed back
            }

            Assert.Equal([1f, 2, 3], past.GetTensorDataAsSpan<float>().ToArray());
        }
        finally
        {
            past.Dispose();
        }
    }

    [Fact]
    public void Inputs_and_outputs_are_described_with_names_types_and_dynamic_dimensions()
    {
        using var session = ModelSession.Open(AffineModel(), new SessionSettings());

        var (name, input) = Assert.Single(session.Inputs);
        Assert.Equal(("x", TensorElementType.Float), (name, input.ElementDataType));
        Assert.Equal([-1, 2], input.Dimensions);
        Assert.Equal("y", Assert.Single(session.Outputs).Key);
    }

    [Fact]
    public async Task Runs_on_one_session_may_go_in_parallel()
    {
        using var session = ModelSession.Open(AffineModel(), new SessionSettings());

        var results = await Task.WhenAll(Enumerable.Range(0, 64).Select(i => Task.Run(() =>
        {
            using var run = new ModelRun(session);
            using var x = Tensors.Of<float>([i, 1], 1, 2);
            using var outputs = run.Run([("x", x)], ["y"]);
            return outputs.Get<float>("y", out _)[0];
        })));

        Assert.Equal(Enumerable.Range(0, 64).Select(i => i * 1f + 4 + 0.5f), results);
    }

    [Fact]
    public void A_terminated_run_fails_and_so_does_every_later_one()
    {
        using var session = ModelSession.Open(AffineModel(), new SessionSettings());
        using var run = new ModelRun(session);
        using var x = Tensors.Of<float>([1, 1], 1, 2);

        run.Terminate();

        var error = Assert.Throws<OnnxRuntimeException>(() => run.Run([("x", x)], ["y"]));
        Assert.Contains("terminate", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Throws<OnnxRuntimeException>(() => run.Run([("x", x)], ["y"]));
    }

    [Fact]
    public void A_wrongly_shaped_input_fails_with_ONNX_Runtimes_own_message()
    {
        using var session = ModelSession.Open(AffineModel(), new SessionSettings());
        using var run = new ModelRun(session);
        using var x = Tensors.Allocate<float>(1, 5);

        var error = Assert.Throws<OnnxRuntimeException>(() => run.Run([("x", x)], ["y"]));

        Assert.Contains("x", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_or_corrupt_model_fails_at_load_saying_what_is_wrong()
    {
        var missing = Assert.Throws<ModelLoadException>(() => ModelSession.Open(Path.Combine(_directory, "none.onnx"), new SessionSettings()));
        var corruptPath = Path.Combine(_directory, "corrupt.onnx");
        File.WriteAllBytes(corruptPath, [0x08, 0xff, 0xff, 0x12, 0x7f, 0x01, 0x02]);
        var corrupt = Assert.Throws<ModelLoadException>(() => ModelSession.Open(corruptPath, new SessionSettings()));

        Assert.Contains("none.onnx", missing.Message, StringComparison.Ordinal);
        Assert.Contains("corrupt.onnx", corrupt.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_model_configured_for_CUDA_never_runs_on_CPU_instead()
    {
        // This machine has no GPU: the CPU build says it has no CUDA, the GPU build names the CUDA libraries it lacks.
        var error = Assert.Throws<ModelLoadException>(() => ModelSession.Open(AffineModel(), new SessionSettings(SessionSettings.Cuda)));

        Assert.Contains("configured for cuda", error.Message, StringComparison.Ordinal);
        Assert.Matches("CPU-only ONNX Runtime|libcu", error.Message);
    }

    [Fact]
    public void An_unknown_execution_provider_is_rejected_at_load()
    {
        var error = Assert.Throws<ModelLoadException>(() => ModelSession.Open(AffineModel(), new SessionSettings("tpu")));

        Assert.Contains("Unknown execution provider 'tpu'", error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
