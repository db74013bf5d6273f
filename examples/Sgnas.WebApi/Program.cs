// ASP.NET Core minimal API over an SGNAS model.zip saved in the Model Builder form (image path in, class name out):
//   dotnet run --project examples/Sgnas.WebApi -- --model runs/modelbuilder/model.zip --urls http://127.0.0.1:5080
//   curl -F image=@shirt.png http://127.0.0.1:5080/predict
//   → {"predictedLabel":"Shirt","scores":{"T-shirt-top":0.01,...}}
// One model is loaded at start-up; PredictionEngine is not thread-safe, so requests borrow engines from a pool
// (Microsoft.Extensions.ObjectPool, part of ASP.NET Core; Microsoft.Extensions.ML's PredictionEnginePool is not on
// this project's package feed).
using Microsoft.Extensions.ObjectPool;
using Microsoft.ML;
using Microsoft.ML.Data;
using Sgnas.WebApi;

var builder = WebApplication.CreateBuilder(args);
string modelPath = builder.Configuration["model"] ?? builder.Configuration["Model"]
    ?? throw new InvalidOperationException("Give the model with --model PATH (a model.zip saved by SgnasModel.SaveForImageFiles).");
builder.Services.AddSingleton(_ => ModelService.Load(modelPath));
builder.Services.AddSingleton<ObjectPoolProvider, DefaultObjectPoolProvider>();
builder.Services.AddSingleton(sp => sp.GetRequiredService<ObjectPoolProvider>().Create(new EnginePolicy(sp.GetRequiredService<ModelService>())));
// Uploads above 10 MB are no image this model should see.
builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = 10 * 1024 * 1024);

var app = builder.Build();
var model = app.Services.GetRequiredService<ModelService>();   // load now: a bad model fails start-up, not the first request

app.MapGet("/health", () => Results.Ok(new { status = "ok", classes = model.ClassNames.Count }));

app.MapGet("/model", () => Results.Ok(new { path = model.Path, classNames = model.ClassNames, metadata = model.Metadata }));

app.MapPost("/predict", async (HttpRequest request, ObjectPool<PredictionEngine<ModelInput, ModelOutput>> pool, CancellationToken ct) =>
{
    if (!request.HasFormContentType)
        return Results.BadRequest(new { error = "POST multipart/form-data with the image in a field named 'image'." });
    var form = await request.ReadFormAsync(ct);
    var file = form.Files.GetFile("image") ?? form.Files.FirstOrDefault();
    if (file is null || file.Length == 0)
        return Results.BadRequest(new { error = "no image file in the form (field 'image')." });

    // The model's chain loads images from paths (ML.NET LoadImages), so the upload goes to a private temp file.
    string tmp = Path.Combine(Path.GetTempPath(), "sgnas-webapi-" + Guid.NewGuid().ToString("N") + Path.GetExtension(file.FileName));
    try
    {
        await using (var fs = File.Create(tmp)) await file.CopyToAsync(fs, ct);
        var engine = pool.Get();
        ModelOutput output;
        try { output = engine.Predict(new ModelInput { ImagePath = tmp }); }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException)
        {
            return Results.BadRequest(new { error = $"'{file.FileName}' could not be read as an image: {e.Message}" });
        }
        finally { pool.Return(engine); }
        return Results.Ok(new
        {
            predictedLabel = output.PredictedLabel,
            scores = model.ClassNames.Zip(output.Score).ToDictionary(p => p.First, p => p.Second),
        });
    }
    finally
    {
        File.Delete(tmp);
    }
}).DisableAntiforgery();

app.Run();

namespace Sgnas.WebApi
{
    /// <summary>Model Builder's input class: the path of one image.</summary>
    public sealed class ModelInput
    {
        public string ImagePath { get; set; } = "";
    }

    /// <summary>Model Builder's output class: class name and probabilities.</summary>
    public sealed class ModelOutput
    {
        public string PredictedLabel { get; set; } = "";
        public float[] Score { get; set; } = [];
    }

    /// <summary>The loaded model, shared by all engines (a fitted ML.NET chain is thread-safe to share).</summary>
    public sealed class ModelService
    {
        private ModelService(string path, MLContext ml, ITransformer model, IReadOnlyList<string> classNames, IReadOnlyDictionary<string, string> metadata)
        {
            Path = path; Context = ml; Model = model; ClassNames = classNames; Metadata = metadata;
        }

        public string Path { get; }
        public MLContext Context { get; }
        public ITransformer Model { get; }
        public IReadOnlyList<string> ClassNames { get; }
        /// <summary>The SGNAS entries of the ONNX metadata (architecture, FLOPs, preset, ...), when the model has them.</summary>
        public IReadOnlyDictionary<string, string> Metadata { get; }

        public static ModelService Load(string path)
        {
            if (!File.Exists(path)) throw new FileNotFoundException($"model '{path}' does not exist.", path);
            var ml = new MLContext(seed: 0);
            // Model.Load finds transformers in the assemblies registered with the catalog; these two are referenced
            // nowhere else in this app.
            ml.ComponentCatalog.RegisterAssembly(typeof(Microsoft.ML.Transforms.Onnx.OnnxTransformer).Assembly);
            ml.ComponentCatalog.RegisterAssembly(typeof(ImageLoadingTransformer).Assembly);
            var model = ml.Model.Load(path, out var schema);
            if (schema.GetColumnOrNull("ImagePath") is null)
                throw new InvalidDataException($"model '{path}' takes no ImagePath column; save it with SgnasModel.SaveForImageFiles.");
            var output = model.GetOutputSchema(schema);
            var score = output.GetColumnOrNull("Score") ?? throw new InvalidDataException($"model '{path}' outputs no Score column.");
            VBuffer<ReadOnlyMemory<char>> names = default;
            string[] classNames = score.HasSlotNames() ? GetNames(score, ref names)
                : Enumerable.Range(0, (score.Type as VectorDataViewType)?.Size ?? 0).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            return new ModelService(path, ml, model, classNames, OnnxMetadata.Read(path));
        }

        private static string[] GetNames(DataViewSchema.Column score, ref VBuffer<ReadOnlyMemory<char>> names)
        {
            score.GetSlotNames(ref names);
            return names.DenseValues().Select(n => n.ToString()).ToArray();
        }
    }

    /// <summary>Creates prediction engines for the pool; engines are reused, never shared between requests.</summary>
    public sealed class EnginePolicy(ModelService model) : PooledObjectPolicy<PredictionEngine<ModelInput, ModelOutput>>
    {
        public override PredictionEngine<ModelInput, ModelOutput> Create() =>
            model.Context.Model.CreatePredictionEngine<ModelInput, ModelOutput>(model.Model);

        public override bool Return(PredictionEngine<ModelInput, ModelOutput> obj) => true;
    }

    /// <summary>
    /// The <c>sgnas.*</c> ONNX metadata entries inside an ML.NET .zip, read with ONNX Runtime (what Sgnas.MLNet's
    /// SgnasModelInfo reads, without referencing Sgnas.MLNet).
    /// </summary>
    public static class OnnxMetadata
    {
        public static IReadOnlyDictionary<string, string> Read(string zipPath)
        {
            using var zip = System.IO.Compression.ZipFile.OpenRead(zipPath);
            var entry = zip.Entries.FirstOrDefault(e => e.Name == "OnnxModel");
            if (entry is null) return new Dictionary<string, string>();
            using var s = entry.Open();
            using var m = new MemoryStream();
            s.CopyTo(m);
            var all = m.ToArray();
            var bytes = all.Length >= 4 && BitConverter.ToInt32(all, 0) == all.Length - 4 ? all[4..]
                : all.Length >= 8 && BitConverter.ToInt64(all, 0) == all.Length - 8 ? all[8..] : all;
            using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(bytes);
            return session.ModelMetadata.CustomMetadataMap.Where(kv => kv.Key.StartsWith("sgnas.", StringComparison.Ordinal))
                .ToDictionary(kv => kv.Key, kv => kv.Value);
        }
    }
}
