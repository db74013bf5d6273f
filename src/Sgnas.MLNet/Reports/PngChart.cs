using System.Globalization;
using SkiaSharp;

namespace Sgnas.MLNet.Reports;

/// <summary>Marker drawn for each point of a <see cref="PngChart"/> series.</summary>
public enum ChartMarker
{
    /// <summary>Filled circle.</summary>
    Circle,
    /// <summary>Filled square.</summary>
    Square,
    /// <summary>Filled triangle pointing up.</summary>
    Triangle,
    /// <summary>Filled diamond.</summary>
    Diamond,
    /// <summary>No marker (line only).</summary>
    None,
}

/// <summary>One series of a <see cref="PngChart"/>.</summary>
/// <param name="Label">Legend text.</param>
/// <param name="X">X values.</param>
/// <param name="Y">Y values (same length).</param>
/// <param name="Color">Series colour.</param>
/// <param name="Marker">Marker shape.</param>
/// <param name="MarkerSize">Marker size in pixels.</param>
/// <param name="Connect">Draw lines between consecutive points.</param>
/// <param name="Dashed">Dashed connecting line.</param>
public sealed record ChartSeries(string Label, double[] X, double[] Y, SKColor Color, ChartMarker Marker = ChartMarker.Circle,
    float MarkerSize = 8, bool Connect = false, bool Dashed = false);

/// <summary>
/// A small scatter/line chart rendered to PNG with SkiaSharp 2.88, the version ML.NET's ImageAnalytics already
/// brings. (ScottPlot 5 needs SkiaSharp 3, whose removal of <c>SKBitmap.GetPixelSpan</c> breaks ML.NET's image
/// loading in the same process, so a plotting library cannot be used alongside ML.NET here.)
/// </summary>
public sealed class PngChart
{
    private readonly List<ChartSeries> _series = new();

    /// <summary>Title drawn above the plot.</summary>
    public string Title { get; init; } = "";
    /// <summary>X axis label.</summary>
    public string XLabel { get; init; } = "";
    /// <summary>Y axis label.</summary>
    public string YLabel { get; init; } = "";

    /// <summary>Adds a series (drawn in the order added; later series on top).</summary>
    public PngChart Add(ChartSeries series)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (series.X.Length != series.Y.Length)
            throw new ArgumentException($"series '{series.Label}' has {series.X.Length} x values and {series.Y.Length} y values.");
        _series.Add(series);
        return this;
    }

    /// <summary>Renders the chart as PNG bytes.</summary>
    public byte[] ToPng(int width = 900, int height = 600)
    {
        if (width < 200 || height < 150) throw new ArgumentOutOfRangeException(nameof(width), $"{width}×{height} is too small for a chart.");
        var (x0, x1) = Extent(_series.SelectMany(s => s.X));
        var (y0, y1) = Extent(_series.SelectMany(s => s.Y));
        var xt = Ticks(x0, x1); var yt = Ticks(y0, y1);
        x0 = Math.Min(x0, xt[0]); x1 = Math.Max(x1, xt[^1]); y0 = Math.Min(y0, yt[0]); y1 = Math.Max(y1, yt[^1]);

        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var c = surface.Canvas;
        c.Clear(SKColors.White);
        using var typeface = Typeface();
        using var text = new SKPaint { Color = SKColors.Black, IsAntialias = true, TextSize = 13, Typeface = typeface };
        using var titlePaint = new SKPaint { Color = SKColors.Black, IsAntialias = true, TextSize = 16, Typeface = typeface, FakeBoldText = true };
        using var grid = new SKPaint { Color = new SKColor(225, 225, 225), StrokeWidth = 1, Style = SKPaintStyle.Stroke };
        using var axis = new SKPaint { Color = SKColors.Black, StrokeWidth = 1.2f, Style = SKPaintStyle.Stroke, IsAntialias = true };

        var area = new SKRect(80, 50, width - 30, height - 60);
        float X(double v) => (float)(area.Left + (v - x0) / (x1 - x0) * area.Width);
        float Y(double v) => (float)(area.Bottom - (v - y0) / (y1 - y0) * area.Height);

        foreach (var t in xt)
        {
            c.DrawLine(X(t), area.Top, X(t), area.Bottom, grid);
            string s = Format(t, xt);
            c.DrawText(s, X(t) - text.MeasureText(s) / 2, area.Bottom + 18, text);
        }
        foreach (var t in yt)
        {
            c.DrawLine(area.Left, Y(t), area.Right, Y(t), grid);
            string s = Format(t, yt);
            c.DrawText(s, area.Left - 8 - text.MeasureText(s), Y(t) + 4, text);
        }
        c.DrawRect(area, axis);
        c.DrawText(Title, (width - titlePaint.MeasureText(Title)) / 2, 30, titlePaint);
        c.DrawText(XLabel, area.MidX - text.MeasureText(XLabel) / 2, height - 20, text);
        c.Save();
        c.RotateDegrees(-90);
        c.DrawText(YLabel, -area.MidY - text.MeasureText(YLabel) / 2, 24, text);
        c.Restore();

        c.Save();
        c.ClipRect(area);
        foreach (var s in _series)
        {
            using var line = new SKPaint { Color = s.Color, StrokeWidth = 1.5f, Style = SKPaintStyle.Stroke, IsAntialias = true };
            if (s.Dashed) line.PathEffect = SKPathEffect.CreateDash(new[] { 6f, 4f }, 0);
            if (s.Connect)
                for (int i = 1; i < s.X.Length; i++) c.DrawLine(X(s.X[i - 1]), Y(s.Y[i - 1]), X(s.X[i]), Y(s.Y[i]), line);
            using var fill = new SKPaint { Color = s.Color, Style = SKPaintStyle.Fill, IsAntialias = true };
            for (int i = 0; i < s.X.Length; i++) Marker(c, s.Marker, X(s.X[i]), Y(s.Y[i]), s.MarkerSize, fill);
        }
        c.Restore();

        // Legend, top left inside the plot area.
        float ly = area.Top + 10, lw = _series.Select(s => text.MeasureText(s.Label)).DefaultIfEmpty(0).Max() + 44;
        using (var box = new SKPaint { Color = new SKColor(255, 255, 255, 230), Style = SKPaintStyle.Fill })
            c.DrawRect(new SKRect(area.Left + 8, ly - 4, area.Left + 8 + lw, ly - 4 + 20 * _series.Count + 4), box);
        foreach (var s in _series)
        {
            using var fill = new SKPaint { Color = s.Color, Style = SKPaintStyle.Fill, IsAntialias = true };
            using var line = new SKPaint { Color = s.Color, StrokeWidth = 1.5f, Style = SKPaintStyle.Stroke, IsAntialias = true };
            if (s.Dashed) line.PathEffect = SKPathEffect.CreateDash(new[] { 6f, 4f }, 0);
            float mx = area.Left + 24, my = ly + 8;
            if (s.Connect || s.Marker == ChartMarker.None) c.DrawLine(mx - 12, my, mx + 12, my, line);
            Marker(c, s.Marker, mx, my, Math.Min(s.MarkerSize, 10), fill);
            c.DrawText(s.Label, mx + 18, my + 5, text);
            ly += 20;
        }

        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static void Marker(SKCanvas c, ChartMarker m, float x, float y, float size, SKPaint paint)
    {
        float r = size / 2;
        switch (m)
        {
            case ChartMarker.Circle: c.DrawCircle(x, y, r, paint); break;
            case ChartMarker.Square: c.DrawRect(new SKRect(x - r, y - r, x + r, y + r), paint); break;
            case ChartMarker.Triangle:
            case ChartMarker.Diamond:
                using (var path = new SKPath())
                {
                    if (m == ChartMarker.Triangle) { path.MoveTo(x, y - r); path.LineTo(x + r, y + r); path.LineTo(x - r, y + r); }
                    else { path.MoveTo(x, y - r); path.LineTo(x + r, y); path.LineTo(x, y + r); path.LineTo(x - r, y); }
                    path.Close();
                    c.DrawPath(path, paint);
                }
                break;
        }
    }

    /// <summary>
    /// The default typeface, or a common sans font file when the SkiaSharp build has no font manager (the
    /// NoDependencies Linux build renders no glyphs with its default typeface).
    /// </summary>
    private static SKTypeface Typeface()
    {
        var d = SKTypeface.Default;
        if (d != null && d.GlyphCount > 0) return d;
        foreach (var f in new[]
                 {
                     "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf",
                     "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf", "/usr/share/fonts/dejavu/DejaVuSans.ttf",
                     "/System/Library/Fonts/Helvetica.ttc", @"C:\Windows\Fonts\arial.ttf",
                 })
            if (File.Exists(f) && SKTypeface.FromFile(f) is { } t) return t;
        return d ?? SKTypeface.CreateDefault();
    }

    private static (double, double) Extent(IEnumerable<double> values)
    {
        var v = values.Where(double.IsFinite).ToArray();
        if (v.Length == 0) return (0, 1);
        double lo = v.Min(), hi = v.Max();
        if (hi - lo < 1e-12) { lo -= 0.5; hi += 0.5; }
        double pad = (hi - lo) * 0.05;
        return (lo - pad, hi + pad);
    }

    /// <summary>About six round tick values covering [lo, hi] (steps of 1, 2 or 5 × 10^k).</summary>
    internal static double[] Ticks(double lo, double hi)
    {
        double raw = (hi - lo) / 6, mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1.0, 2, 5, 10 }.Select(m => m * mag).First(s => s >= raw);
        double start = Math.Floor(lo / step) * step;
        var t = new List<double>();
        for (int i = 0; i < 1000; i++)
        {
            double v = Math.Round(start / step + i) * step;
            t.Add(v);
            if (v >= hi - step * 1e-9) break;
        }
        return t.ToArray();
    }

    private static string Format(double v, double[] ticks)
    {
        double step = ticks.Length > 1 ? ticks[1] - ticks[0] : 1;
        int decimals = Math.Clamp((int)Math.Ceiling(-Math.Log10(step)), 0, 6);
        return v.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }
}
