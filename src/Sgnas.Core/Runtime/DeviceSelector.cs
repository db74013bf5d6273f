using TorchSharp;

namespace Sgnas.Runtime;

/// <summary>
/// Parses and validates a device name (<c>cpu</c>, <c>cuda</c>, <c>cuda:N</c>) once, so every command and API
/// fails early with one clear message instead of deep inside a forward pass.
/// </summary>
public static class DeviceSelector
{
    /// <summary>Returns the TorchSharp device for <paramref name="name"/> or throws if it is unknown or unavailable.</summary>
    /// <exception cref="ArgumentException">The name is not cpu, cuda or cuda:N.</exception>
    /// <exception cref="InvalidOperationException">The device exists in the name but not on this machine or build.</exception>
    public static torch.Device Resolve(string? name)
    {
        name = string.IsNullOrWhiteSpace(name) ? "cpu" : name.Trim().ToLowerInvariant();
        TorchNative.EnsureLoaded();
        if (name == "cpu") return torch.CPU;
        if (name == "cuda" || name.StartsWith("cuda:", StringComparison.Ordinal))
        {
            // Under mpirun a bare "cuda" means this rank's GPU, cuda:<local rank> (docs/distributed.md §4).
            int index = name.Length == 4 ? Distributed.Cluster.Launch?.LocalRank ?? 0 : 0;
            if (name.Length > 4 && !int.TryParse(name.AsSpan(5), out index))
                throw new ArgumentException($"Device '{name}': expected cuda:N with N a GPU index.", nameof(name));
            if (!torch.cuda.is_available())
                throw new InvalidOperationException(
                    $"Device '{name}' requested but CUDA is not available: this build uses the '{TorchNative.BackendName}' backend " +
                    "or no GPU is visible. Build with -p:SgnasTorchBackend=cuda on a machine with a GPU, or use --device cpu.");
            int count = torch.cuda.device_count();
            if (index < 0 || index >= count)
                throw new InvalidOperationException($"Device '{name}': only {count} CUDA device(s) visible (cuda:0..cuda:{count - 1}).");
            return new torch.Device(DeviceType.CUDA, index);
        }
        throw new ArgumentException($"Unknown device '{name}'. Use cpu, cuda or cuda:N.", nameof(name));
    }
}
