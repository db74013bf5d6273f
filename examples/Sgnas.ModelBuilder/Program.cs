// Model-builder-style app, split the way Model Builder splits its code: FashionModel.training.cs trains and saves,
// FashionModel.consumption.cs loads model.zip and predicts from an image path (ML.NET only), this file drives both.
//   dotnet run --project examples/Sgnas.ModelBuilder -- [--images DIR] [--flops 3] [--out runs/modelbuilder] [--quick]
// Without --images, 3000 Fashion-MNIST training images are written as PNGs into <out>/images/<class>/ first, to
// stand for a user's own folder of images.
using Sgnas.Data;
using Sgnas.ModelBuilder;
using SkiaSharp;

double? flops = null;
string outDir = Path.Combine("runs", "modelbuilder-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss"));
string? images = null;
bool quick = false;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--flops": flops = double.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--out": outDir = args[++i]; break;
        case "--images": images = args[++i]; break;
        case "--quick": quick = true; break;
        default: Console.Error.WriteLine($"unknown argument {args[i]}; use --images DIR, --flops X, --out DIR, --quick"); return 2;
    }
}
images ??= WriteFashionMnistImages(Path.Combine(outDir, "images"), count: 3000);

// 1. Training (FashionModel.training.cs).
string modelPath = Path.GetFullPath(Path.Combine(outDir, "model.zip"));
var model = FashionModel.Train(modelPath, images, flops, Path.Combine(outDir, "run"), quick);
var info = model.Info;
Console.WriteLine($"architecture  {info.Architecture}");
Console.WriteLine($"FLOPs         {info.FlopsM:F3} M, params {info.ParamsM:F4} M, preset {info.Preset}");
Console.WriteLine($"saved         {modelPath}");

// 2. Consumption (FashionModel.consumption.cs): Predict(imagePath), as an app would.
FashionModel.MLNetModelPath = modelPath;
foreach (var file in Directory.EnumerateDirectories(images).Order().Select(d => Directory.EnumerateFiles(d).Order().First()))
{
    var output = FashionModel.Predict(file);
    Console.WriteLine($"{Path.GetRelativePath(images, file),-28} -> {output.PredictedLabel} ({output.Score.Max():P1})");
}
return 0;

// The first `count` Fashion-MNIST training images as 28×28 gray PNGs, one folder per class.
static string WriteFashionMnistImages(string root, int count)
{
    var data = FashionMnist.LoadTrain();
    for (int i = 0; i < Math.Min(count, data.Count); i++)
    {
        string dir = Path.Combine(root, data.ClassNames[data.Labels[i]].Replace('/', '-'));
        Directory.CreateDirectory(dir);
        using var bitmap = new SKBitmap(new SKImageInfo(28, 28, SKColorType.Gray8, SKAlphaType.Opaque));
        var pixels = data.GetImage(i).ToArray();
        for (int row = 0; row < 28; row++)
            System.Runtime.InteropServices.Marshal.Copy(pixels, row * 28, bitmap.GetPixels() + row * bitmap.RowBytes, 28);
        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(Path.Combine(dir, $"{i:D5}.png"), png.ToArray());
    }
    Console.WriteLine($"wrote {Math.Min(count, data.Count)} Fashion-MNIST images as PNG into {root}");
    return root;
}
