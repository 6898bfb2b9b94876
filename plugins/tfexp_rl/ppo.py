"""Proximal policy optimization (Schulman et al. 2017) on gymnasium vector envs.

Discrete actions use a categorical policy over the network's logits; Box actions a
diagonal Gaussian whose mean is the network's output and whose log-std is a free
variable. Sampling is one compiled call per vector step; all minibatch epochs of an
update are one compiled call.
"""

from __future__ import annotations

import math

import numpy as np

from tfexp_rl.advantages import compute_gae
from tfexp_rl.agents import Agent
from tfexp_rl.checkpoints import rng_state, set_rng_state
from tfexp_rl.envs import EnvInfo, make_vector_env
from tfexp_rl.networks import compiled, observation_spec
from tfexp_rl.schedules import make_optimizer

LOG_2PI = math.log(2 * math.pi)


class PPO(Agent):
    def __init__(self, rl_cfg, optimizer: str, info: EnvInfo, build_network, seed: int, total_steps: int):
        import tensorflow as tf

        self.cfg, self.info, self.gamma = rl_cfg.ppo, info, rl_cfg.gamma
        p = self.cfg
        self.steps_per_iteration = p.num_envs * p.n_steps
        self.batch_size = min(p.batch_size, self.steps_per_iteration)
        self.minibatches = self.steps_per_iteration // self.batch_size
        self.model = build_network(info.num_actions, 0.01, "policy")
        self.value = build_network(1, 1.0, "value")
        self.log_std = None if info.discrete else tf.Variable(tf.zeros(info.num_actions), name="log_std")
        self.variables = [*self.model.trainable_variables, *self.value.trainable_variables, *([self.log_std] if self.log_std is not None else [])]
        iterations = -(-total_steps // self.steps_per_iteration)
        self.optimizer = make_optimizer(optimizer, p.learning_rate, rl_cfg.lr_schedule, iterations * p.epochs * self.minibatches, p.max_grad_norm)
        self.optimizer.build(self.variables)
        self.envs, self.seed = make_vector_env(info.env_id, rl_cfg.env_kwargs, p.num_envs), seed
        self.restart_envs()
        self.rng = tf.random.Generator.from_seed(seed)
        self.np_rng = np.random.default_rng(seed)
        self._sample = compiled(self._sample_actions, observation_spec(info.obs_shape))
        self._values = compiled(lambda obs: self.value(obs, training=False)[:, 0], observation_spec(info.obs_shape))
        self._update = tf.function(self._minibatch_epochs, jit_compile=rl_cfg.jit_compile)

    def networks(self) -> dict:
        return {"policy": self.model, "value": self.value, **({"log_std": self.log_std} if self.log_std is not None else {})}

    def arrays(self) -> dict[str, np.ndarray]:
        return {"np_rng": rng_state(self.np_rng)}

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        set_rng_state(self.np_rng, arrays["np_rng"])

    # -- the policy's distribution -------------------------------------------------

    def _log_prob_and_entropy(self, out, actions):
        import tensorflow as tf

        if self.info.discrete:
            log_probs = tf.nn.log_softmax(out)
            entropy = -tf.reduce_sum(tf.exp(log_probs) * log_probs, axis=-1)
            return tf.gather(log_probs, actions, batch_dims=1), entropy
        z = (actions - out) * tf.exp(-self.log_std)
        log_prob = -0.5 * tf.reduce_sum(z**2, axis=-1) - tf.reduce_sum(self.log_std) - 0.5 * self.info.num_actions * LOG_2PI
        entropy = tf.reduce_sum(self.log_std) + 0.5 * self.info.num_actions * (1.0 + LOG_2PI)
        return log_prob, tf.broadcast_to(entropy, tf.shape(log_prob))

    def _sample_actions(self, obs):
        import tensorflow as tf

        out = self.model(obs, training=False)
        if self.info.discrete:  # Gumbel-max: a categorical sample from the seeded generator
            gumbel = -tf.math.log(-tf.math.log(self.rng.uniform(tf.shape(out), 1e-20, 1.0)))
            actions = tf.argmax(out + gumbel, axis=-1, output_type=tf.int32)
        else:
            actions = out + tf.exp(self.log_std) * self.rng.normal(tf.shape(out))
        log_prob, _ = self._log_prob_and_entropy(out, actions)
        return actions, log_prob, self.value(obs, training=False)[:, 0]

    # -- collecting and learning ---------------------------------------------------

    def iterate(self) -> dict[str, float]:
        """Collect one rollout of ``n_steps`` per env, then ``epochs`` passes of minibatch updates."""
        p, n = self.cfg, self.cfg.num_envs
        obs = np.zeros((p.n_steps, n, *self.info.obs_shape), dtype=np.float32)
        if self.info.discrete:
            actions = np.zeros((p.n_steps, n), dtype=np.int32)
        else:
            actions = np.zeros((p.n_steps, n, self.info.num_actions), dtype=np.float32)
        log_probs, values, rewards, dones = (np.zeros((p.n_steps, n), dtype=np.float32) for _ in range(4))
        for t in range(p.n_steps):
            action, log_prob, value = self._sample(self.obs)
            next_obs, reward, terminated, truncated, infos = self.envs.step(self.info.to_env(action))
            self.env_steps += n
            self.episodes.step(reward, terminated | truncated, self.env_steps)
            reward = reward.astype(np.float32)
            cut = truncated & ~terminated
            if cut.any():  # a time limit is not the end of the task: bootstrap from where it stopped
                reward[cut] += self.gamma * self._values(np.stack(infos["final_obs"][cut]))
            obs[t], actions[t], log_probs[t], values[t], rewards[t], dones[t] = self.obs, action, log_prob, value, reward, terminated | truncated
            self.obs = next_obs.astype(np.float32)
        advantages, returns = compute_gae(rewards, values, dones, self._values(self.obs), self.gamma, p.gae_lambda)
        order = np.stack([self.np_rng.permutation(self.steps_per_iteration) for _ in range(p.epochs)])
        index = order[:, : self.minibatches * self.batch_size].reshape(-1, self.batch_size)
        metrics = self._update(*(merge_steps_and_envs(a) for a in (obs, actions, log_probs, advantages, returns)), index)
        logs = {k: float(v) for k, v in metrics.items()}
        logs["learning_rate"] = float(self.optimizer.learning_rate)
        return logs

    def _minibatch_epochs(self, obs, actions, old_log_probs, advantages, returns, index):
        import tensorflow as tf

        p = self.cfg
        names = ("policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction")
        totals = {name: tf.constant(0.0) for name in names}
        for i in tf.range(tf.shape(index)[0]):
            b = index[i]
            adv = tf.gather(advantages, b)
            if p.normalize_advantage:
                adv = (adv - tf.reduce_mean(adv)) / (tf.math.reduce_std(adv) + 1e-8)
            with tf.GradientTape() as tape:
                log_prob, entropy = self._log_prob_and_entropy(self.model(tf.gather(obs, b), training=True), tf.gather(actions, b))
                log_ratio = log_prob - tf.gather(old_log_probs, b)
                ratio = tf.exp(log_ratio)
                clipped = tf.clip_by_value(ratio, 1.0 - p.clip_range, 1.0 + p.clip_range)
                policy_loss = -tf.reduce_mean(tf.minimum(ratio * adv, clipped * adv))
                value_loss = tf.reduce_mean((tf.gather(returns, b) - self.value(tf.gather(obs, b), training=True)[:, 0]) ** 2)
                entropy = tf.reduce_mean(entropy)
                loss = policy_loss + p.vf_coef * value_loss - p.ent_coef * entropy
            grads = tape.gradient(loss, self.variables)
            self.optimizer.apply_gradients(zip(grads, self.variables))
            step = {
                "policy_loss": policy_loss,
                "value_loss": value_loss,
                "entropy": entropy,
                "approx_kl": tf.reduce_mean((ratio - 1.0) - log_ratio),
                "clip_fraction": tf.reduce_mean(tf.cast(tf.abs(ratio - 1.0) > p.clip_range, tf.float32)),
            }
            totals = {name: totals[name] + step[name] for name in names}
        count = tf.cast(tf.shape(index)[0], tf.float32)
        return {name: value / count for name, value in totals.items()}


def merge_steps_and_envs(array: np.ndarray) -> np.ndarray:
    """``(steps, envs, ...)`` -> ``(steps * envs, ...)``: one row per transition."""
    return array.reshape(-1, *array.shape[2:])
