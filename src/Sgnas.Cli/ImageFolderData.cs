using System.Runtime.CompilerServices;
using Sgnas.MLNet.Data;

namespace Sgnas.Cli;

/// <summary>
/// The CLI's one place for image-folder data: when the sgnas assembly loads, Sgnas.MLNet's ML.NET image loader is
/// registered as Sgnas.Core's image-folder decoder, so every command that loads <c>--data</c> (or the data path a
/// supernet stored) through <see cref="Sgnas.Data.DatasetLoader"/> reads image-folder trees too.
/// </summary>
internal static class ImageFolderData
{
    [ModuleInitializer]
    internal static void Register() => ImageFolderDecoding.Register();

    /// <summary>Image-folder images are resized and converted to the preset's input.</summary>
    internal static (int Channels, int Size) Shape(Sgnas.SearchSpace.SearchSpacePreset preset) => (preset.InputChannels, preset.InputSize);
}
