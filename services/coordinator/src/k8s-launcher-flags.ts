import { existsSync, readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '@distrain/core';
import { KubernetesLauncher } from './k8s-launcher.ts';

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The coordinator's launcher flags (see its main.ts). */
export interface KubernetesLauncherFlags {
  kubeconfig?: string | undefined;
  namespace?: string | undefined;
  instance?: string | undefined;
  'worker-template'?: string | undefined;
  'gpu-worker-template'?: string | undefined;
  'log-level'?: string | undefined;
}

/**
 * Builds the launcher from the coordinator's flags: `--kubeconfig` when given, in-cluster config in a
 * pod (service-account token mounted), else the default kubeconfig; the namespace from `--namespace`,
 * else the pod's own namespace, else the kubeconfig context's, else `default`.
 */
export function kubernetesLauncherFromFlags(
  flags: KubernetesLauncherFlags,
  logger: Logger,
): KubernetesLauncher {
  const kubeConfig = new KubeConfig();
  const inCluster = existsSync(`${SERVICE_ACCOUNT_DIR}/token`);
  if (flags.kubeconfig) kubeConfig.loadFromFile(flags.kubeconfig);
  else if (inCluster) kubeConfig.loadFromCluster();
  else kubeConfig.loadFromDefault();
  const namespace =
    flags.namespace ||
    (inCluster && existsSync(`${SERVICE_ACCOUNT_DIR}/namespace`)
      ? readFileSync(`${SERVICE_ACCOUNT_DIR}/namespace`, 'utf8').trim()
      : '') ||
    kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace ||
    'default';
  logger.info(
    { server: kubeConfig.getCurrentCluster()?.server, namespace },
    'launching workers as Kubernetes pods',
  );
  return new KubernetesLauncher({
    kubeConfig,
    namespace,
    logger,
    ...(flags.instance ? { instance: flags.instance } : {}),
    ...(flags['worker-template'] ? { workerTemplate: flags['worker-template'] } : {}),
    ...(flags['gpu-worker-template'] ? { gpuWorkerTemplate: flags['gpu-worker-template'] } : {}),
    env: { DISTRAIN_LOG_LEVEL: flags['log-level'] ?? 'info' },
  });
}
