using System.Diagnostics;
using System.Text;
using Sgnas.Data;
using Sgnas.SearchSpace;
using Xunit.Abstractions;

namespace Sgnas.Core.Tests.Data;

/// <summary>
/// Issue 13: thousands of seeded random mutations of valid IDX (plain and gzip), CIFAR and architecture inputs. The
/// contract: the data readers either succeed or throw <see cref="InvalidDataException"/> (a damaged file) with a
/// message; the architecture parser either succeeds or throws <see cref="FormatException"/> with a message. Any
/// other exception type, a hang or a crash fails the test.
/// </summary>
public sealed class ReaderFuzzTests(ITestOutputHelper log)
{
    private const int Seed = 1313;

    private static byte[] Mutate(byte[] valid, Random r)
    {
        var b = valid.ToList();
        int edits = 1 + r.Next(4);
        for (int e = 0; e < edits; e++)
        {
            switch (r.Next(6))
            {
                case 0 when b.Count > 0: b[r.Next(b.Count)] ^= (byte)(1 << r.Next(8)); break;               // bit flip
                case 1 when b.Count > 0: b[r.Next(b.Count)] = (byte)r.Next(256); break;                     // random byte
                case 2: b.RemoveRange(r.Next(b.Count + 1), 0); b = b.Take(r.Next(b.Count + 1)).ToList(); break; // truncate
                case 3: for (int k = r.Next(1, 9); k > 0; k--) b.Insert(r.Next(b.Count + 1), (byte)r.Next(256)); break; // insert
                case 4 when b.Count > 0: b.RemoveAt(r.Next(b.Count)); break;                                  // delete
                case 5 when b.Count >= 16: // a header word set to an extreme value
                    int at = 4 * r.Next(4);
                    int v = r.Next(4) switch { 0 => int.MaxValue, 1 => -1, 2 => 0, _ => r.Next() };
                    b[at] = (byte)(v >> 24); b[at + 1] = (byte)(v >> 16); b[at + 2] = (byte)(v >> 8); b[at + 3] = (byte)v;
                    break;
            }
        }
        return b.ToArray();
    }

    private static void Expect<TAllowed>(Action read, string what, ref int ok, ref int refused) where TAllowed : Exception
    {
        try { read(); ok++; }
        catch (TAllowed e)
        {
            Assert.False(string.IsNullOrWhiteSpace(e.Message), $"{what}: empty message");
            refused++;
        }
        catch (Exception e)
        {
            Assert.Fail($"{what}: {e.GetType().Name} instead of {typeof(TAllowed).Name}: {e.Message}");
        }
    }

    [Fact]
    public async Task MutatedInputsSucceedOrFailWithTheContractExceptionQuickly()
    {
        var task = Task.Run(Run);
        var finished = await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(120)));
        Assert.True(finished == task, "the fuzz run hung");
        await task;
    }

    private void Run()
    {
        var clock = Stopwatch.StartNew();
        var r = new Random(Seed);
        using var d = new DataFiles();
        byte[] images = DataFiles.IdxImages(6, 4, 4);
        byte[] labels = DataFiles.IdxLabels(0, 1, 2, 0, 1, 2);
        byte[] cifar = DataFiles.CifarRecords([1, 2, 3]);
        int ok = 0, refused = 0;

        for (int i = 0; i < 1500; i++)
        {
            bool gz = i % 3 == 0;
            byte[] m = Mutate(images, r);
            string p = d.Write("f-images-idx3-ubyte", gz ? DataFiles.Gzip(m) : m);
            Expect<InvalidDataException>(() => IdxReader.ReadImages(p), $"IDX images #{i}", ref ok, ref refused);
            if (gz)
            {
                // Damage the compressed bytes as well.
                byte[] z = Mutate(DataFiles.Gzip(images), r);
                if (z.Length > 0) z[0] = 0x1F;
                if (z.Length > 1) z[1] = 0x8B;
                File.WriteAllBytes(p, z);
                Expect<InvalidDataException>(() => IdxReader.ReadImages(p), $"gzip IDX images #{i}", ref ok, ref refused);
            }
            string lp = d.Write("f-labels-idx1-ubyte", Mutate(labels, r));
            Expect<InvalidDataException>(() => IdxReader.ReadLabels(lp), $"IDX labels #{i}", ref ok, ref refused);
            // Through the loader, which also splits a single file into training and held-out test parts.
            Expect<InvalidDataException>(() => DatasetLoader.Load(p, i % 2 == 0 ? DatasetSplit.Train : DatasetSplit.Test), $"IDX pair #{i}", ref ok, ref refused);
        }
        for (int i = 0; i < 1000; i++)
        {
            string p = d.Write("data_batch_1.bin", Mutate(cifar, r));
            Expect<InvalidDataException>(() => CifarBinaryReader.ReadFiles([p], CifarVariant.Cifar10), $"CIFAR #{i}", ref ok, ref refused);
        }

        var preset = SearchSpacePreset.Load("fashion-small");
        string text = "e4:3,3,5,7|e2:7,7|e6:3,3,3,3,3,3|e3:5,5,5|e5:3,3,3,5,7|e2:3,5";
        string json = ArchitectureCodec.ToJson(ArchitectureCodec.Parse(text, preset));
        string alphabet = "e0123456789:,|skip{}[]\" -";
        for (int i = 0; i < 4000; i++)
        {
            string valid = i % 2 == 0 ? text : json;
            var chars = valid.ToCharArray().ToList();
            for (int e = 1 + r.Next(3); e > 0; e--)
            {
                int at = r.Next(chars.Count + 1);
                switch (r.Next(3))
                {
                    case 0 when chars.Count > 0 && at < chars.Count: chars.RemoveAt(at); break;
                    case 1: chars.Insert(at, alphabet[r.Next(alphabet.Length)]); break;
                    default: if (at < chars.Count) chars[at] = alphabet[r.Next(alphabet.Length)]; break;
                }
            }
            string s = new(chars.ToArray());
            Expect<FormatException>(() => ArchitectureCodec.Parse(s, preset), $"architecture '{s}'", ref ok, ref refused);
            Expect<FormatException>(() => ArchitectureCodec.Parse(s), $"architecture without preset '{s}'", ref ok, ref refused);
        }
        log.WriteLine($"{ok} inputs read, {refused} refused with the contract exception, {clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(ok > 100 && refused > 1000, $"{ok} read, {refused} refused: the mutations should give both outcomes");
    }
}
