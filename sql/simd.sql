-- quiver_simd() and the quiver.simd setting.
SELECT quiver_simd() IN ('scalar', 'sse4.2', 'avx2', 'avx512') AS known_target;
SET quiver.simd = 'scalar';
SELECT quiver_simd();
SET quiver.simd = 'mmx';
RESET quiver.simd;
SELECT quiver_simd() <> '' AS has_target;
