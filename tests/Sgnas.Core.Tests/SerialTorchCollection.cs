namespace Sgnas.Core.Tests;

/// <summary>
/// Test classes that run alone, not beside other classes: they drive libtorch for seconds at a time and touch its
/// process-wide state (thread count, global seed), which other classes rely on for bit-identical results; and
/// libtorch calls from two test threads at once have been seen to fail inside TorchSharp's scalar handling.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialTorchCollection
{
    /// <summary>Collection name.</summary>
    public const string Name = "serial libtorch";
}
