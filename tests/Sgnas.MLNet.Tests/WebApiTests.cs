using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Reflection;
using System.Text.Json;
using Microsoft.ML;
using Sgnas.Data;
using Sgnas.MLNet.Data;
using Sgnas.MLNet.Onnx;
using Sgnas.MLNet.Tests.Data;
using Sgnas.Training;

namespace Sgnas.MLNet.Tests;

/// <summary>
/// examples/Sgnas.WebApi as a user runs it: a model trained on a folder of Fashion-MNIST PNGs, saved in the Model
/// Builder form, served on 127.0.0.1; a real PNG posted as multipart form data gets the in-process prediction back.
/// </summary>
public sealed class WebApiTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string AppDir => typeof(WebApiTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "SgnasWebApiDir").Value!;

    [FashionMnistFact]
    public async Task ServesLabelAndScoresForAPostedPng()
    {
        Assert.DoesNotContain(Directory.EnumerateFiles(AppDir), f => Path.GetFileName(f).Contains("Torch", StringComparison.OrdinalIgnoreCase)
                                                                    || Path.GetFileName(f).StartsWith("Sgnas.MLNet", StringComparison.Ordinal));

        // 60 test images as PNGs, one folder per class (names without '/').
        var source = FashionMnist.LoadTest();
        for (int i = 0; i < 60; i++)
            _dir.Write(Path.Combine("png", source.ClassNames[source.Labels[i]].Replace('/', '-'), $"{i}.png"),
                PngWriter.Encode(source.GetImage(i).ToArray(), 1, 28, 28));
        string root = Path.Combine(_dir.Root, "png");
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromImageFolder(root, 28, 28, grayscale: true);
        var model = ml.MulticlassClassification.Trainers.ArchitectureRetrainer(new ArchitectureRetrainer.Options
        {
            Architecture = "e2:3,3|e2:3,3|e2:3,3|e2:3,3|e2:3,3|e2:3,3", RunFolder = Path.Combine(_dir.Root, "run"),
            Training = new RetrainOptions { Epochs = 1, BatchSize = 16, WarmupEpochs = 0.5, ValidationFraction = 0.2 },
        }).Fit(data);
        string zip = Path.Combine(_dir.Root, "model.zip");
        model.SaveForImageFiles(ml, zip);
        string png = Directory.EnumerateFiles(root, "*.png", SearchOption.AllDirectories).Order(StringComparer.Ordinal).First();
        var expected = ml.Model.CreatePredictionEngine<ImageFileInput, ImageFilePrediction>(ml.Model.Load(zip, out _))
            .Predict(new ImageFileInput { ImagePath = png });

        int port = FreePort();
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppDir, "Sgnas.WebApi.dll"), "--model", zip, "--urls", $"http://127.0.0.1:{port}" })
            psi.ArgumentList.Add(a);
        psi.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        using var server = Process.Start(psi)!;
        var stderr = server.StandardError.ReadToEndAsync();
        _ = server.StandardOutput.ReadToEndAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
            while (true)
            {
                Assert.False(server.HasExited, $"the web app exited: {(server.HasExited ? await stderr : "")}");
                try { if ((await http.GetAsync("/health")).IsSuccessStatusCode) break; }
                catch (HttpRequestException) { }
                Assert.True(DateTime.UtcNow < deadline, "the web app did not answer /health within 90 s");
                await Task.Delay(250);
            }

            using var form = new MultipartFormDataContent();
            var image = new ByteArrayContent(File.ReadAllBytes(png));
            image.Headers.ContentType = new MediaTypeHeaderValue("image/png");
            form.Add(image, "image", Path.GetFileName(png));
            var response = await http.PostAsync("/predict", form);
            string body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, body);
            using var json = JsonDocument.Parse(body);
            Assert.Equal(expected.PredictedLabel, json.RootElement.GetProperty("predictedLabel").GetString());
            var scores = json.RootElement.GetProperty("scores").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetSingle());
            Assert.Equal(model.Info.ClassNames, scores.Keys);
            Assert.True(expected.Score.Zip(scores.Values).All(p => Math.Abs(p.First - p.Second) <= 1e-6f), body);

            // The model's metadata is served too, and a non-image upload is a 400 naming the file.
            var meta = await http.GetStringAsync("/model");
            Assert.Contains(model.Architecture.ToString(), meta);
            using var bad = new MultipartFormDataContent { { new ByteArrayContent("not an image"u8.ToArray()), "image", "notes.txt" } };
            var rejected = await http.PostAsync("/predict", bad);
            Assert.Equal(HttpStatusCode.BadRequest, rejected.StatusCode);
            Assert.Contains("notes.txt", await rejected.Content.ReadAsStringAsync());
        }
        finally
        {
            if (!server.HasExited) server.Kill(entireProcessTree: true);
            server.WaitForExit(10_000);
        }
    }

    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}
