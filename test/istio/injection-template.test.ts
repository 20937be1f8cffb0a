import { renderForSidecarMode, sidecarModeAwareTemplate } from '../../lib/istio/injection-template';

describe('sidecar-mode-aware injection templates', () => {
  const text = sidecarModeAwareTemplate({ name: 'istio-proxy' }, [{ name: 'v', emptyDir: {} }]);

  test('the proxy patch lands in initContainers for native sidecars and in containers otherwise', () => {
    expect(renderForSidecarMode(text, true)).toEqual({ spec: { initContainers: [{ name: 'istio-proxy' }], volumes: [{ name: 'v', emptyDir: {} }] } });
    expect(renderForSidecarMode(text, false)).toEqual({ spec: { containers: [{ name: 'istio-proxy' }], volumes: [{ name: 'v', emptyDir: {} }] } });
  });

  test('the condition reads the pod annotation before the mesh setting, as Istio evaluates it', () => {
    expect(text).toContain('{{- if ne (index .ObjectMeta.Annotations `sidecar.istio.io/nativeSidecar` | default (printf "%t" .NativeSidecars)) "false" }}');
  });

  test('a template without logic is parsed as it is', () => {
    expect(renderForSidecarMode('spec:\n  containers: []\n', true)).toEqual({ spec: { containers: [] } });
  });

  test('nested sidecar-mode branches are followed', () => {
    const nested = 'a: 1\n{{- if .NativeSidecars }}\nb: 2\n{{- if .NativeSidecars }}\nc: 3\n{{- end }}\n{{- else }}\nd: 4\n{{- end }}\n';
    expect(renderForSidecarMode(nested, true)).toEqual({ a: 1, b: 2, c: 3 });
    expect(renderForSidecarMode(nested, false)).toEqual({ a: 1, d: 4 });
  });

  test('other template logic is left to Istio', () => {
    expect(renderForSidecarMode('{{ if .Values.global.x }}a: 1{{ end }}', true)).toBeUndefined();
    expect(renderForSidecarMode('a: {{ .ProxyImage }}', true)).toBeUndefined();
    expect(renderForSidecarMode('{{- if .NativeSidecars }}\na: 1\n', true)).toBeUndefined();
  });
});
