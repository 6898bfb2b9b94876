"""Deep Q-learning (Mnih et al. 2015) with double-DQN targets (van Hasselt et al. 2016).

Action selection is one compiled call per vector step; an update (``gradient_steps``
gradient steps, with the target-network updates between them) is one compiled call too.
"""

from __future__ import annotations

import numpy as np

from tfexp_rl.agents import Agent
from tfexp_rl.envs import EnvInfo, make_vector_env, real_next_obs
from tfexp_rl.networks import compiled, observation_spec
from tfexp_rl.replay import ReplayBuffer
from tfexp_rl.schedules import linear, make_optimizer


class DQN(Agent):
    def __init__(self, rl_cfg, optimizer: str, info: EnvInfo, build_network, seed: int, total_steps: int):
        import keras
        import tensorflow as tf

        self.cfg, self.info, self.gamma = rl_cfg.dqn, info, rl_cfg.gamma
        d = self.cfg
        self.model = build_network(info.num_actions, 1.0, "q_network")
        self.target = build_network(info.num_actions, 1.0, "target_q_network")
        self.target.set_weights(self.model.get_weights())
        self.steps_per_iteration = d.train_freq * d.num_envs
        updates = max(total_steps - d.learning_starts, 0) // self.steps_per_iteration + 1
        self.optimizer = make_optimizer(optimizer, d.learning_rate, rl_cfg.lr_schedule, updates * d.gradient_steps, d.max_grad_norm)
        self.optimizer.build(self.model.trainable_variables)
        self.exploration_steps = d.exploration_fraction * total_steps
        self.buffer = ReplayBuffer(d.buffer_size, info.obs_shape, seed)
        self.envs, self.seed = make_vector_env(info.env_id, rl_cfg.env_kwargs, d.num_envs), seed
        self.restart_envs()
        self.gradient_steps = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.rng = tf.random.Generator.from_seed(seed)
        self.huber = keras.losses.Huber(reduction="none")
        self._act = compiled(self._epsilon_greedy, observation_spec(info.obs_shape), tf.TensorSpec([], tf.float32))
        self._update = tf.function(self._gradient_steps, jit_compile=rl_cfg.jit_compile)

    def networks(self) -> dict:
        return {"q_network": self.model, "target": self.target, "gradient_steps": self.gradient_steps}

    def arrays(self) -> dict[str, np.ndarray]:
        return self.buffer.state()

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.buffer.load(arrays)

    @property
    def epsilon(self) -> float:
        return linear(self.cfg.epsilon_start, self.cfg.epsilon_end, self.exploration_steps, self.env_steps)

    def _epsilon_greedy(self, obs, epsilon):
        import tensorflow as tf

        greedy = tf.argmax(self.model(obs, training=False), axis=-1, output_type=tf.int32)
        n = tf.shape(obs)[0]
        random = self.rng.uniform([n], 0, self.info.num_actions, dtype=tf.int32)
        return tf.where(self.rng.uniform([n]) < epsilon, random, greedy)

    def iterate(self) -> dict[str, float]:
        """Collect ``train_freq`` steps per env, then one update once learning has started."""
        for _ in range(self.cfg.train_freq):
            actions = self._act(self.obs, self.epsilon)
            next_obs, rewards, terminated, truncated, infos = self.envs.step(self.info.to_env(actions))
            self.buffer.add(self.obs, actions, rewards, real_next_obs(next_obs, infos), terminated)
            self.env_steps += len(actions)
            self.episodes.step(rewards, terminated | truncated, self.env_steps)
            self.obs = next_obs.astype(np.float32)
        if self.env_steps < self.cfg.learning_starts:
            return {}
        batch = self.buffer.sample(self.cfg.gradient_steps, self.cfg.batch_size)
        loss, q_mean = self._update(**batch)
        return {
            "loss": float(loss),
            "q_mean": float(q_mean),
            "epsilon": self.epsilon,
            "learning_rate": float(self.optimizer.learning_rate),
        }

    def _targets(self, rewards, next_obs, terminated):
        import tensorflow as tf

        next_q = self.target(next_obs, training=False)
        if self.cfg.double:  # the online network picks the action, the target network values it
            chosen = tf.argmax(self.model(next_obs, training=False), axis=-1, output_type=tf.int32)
            next_value = tf.gather(next_q, chosen, batch_dims=1)
        else:
            next_value = tf.reduce_max(next_q, axis=-1)
        return rewards + self.gamma * (1.0 - terminated) * next_value

    def _gradient_steps(self, obs, actions, rewards, next_obs, terminated):
        """All of an update's gradient steps; inputs are shaped ``(steps, batch, ...)``."""
        import tensorflow as tf

        total_loss, total_q = tf.constant(0.0), tf.constant(0.0)
        steps = tf.shape(actions)[0]
        for i in tf.range(steps):
            targets = tf.stop_gradient(self._targets(rewards[i], next_obs[i], terminated[i]))
            with tf.GradientTape() as tape:
                q = tf.gather(self.model(obs[i], training=True), actions[i], batch_dims=1)
                loss = tf.reduce_mean(self.huber(targets[:, None], q[:, None]))
            grads = tape.gradient(loss, self.model.trainable_variables)
            self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
            self.gradient_steps.assign_add(1)
            if self.gradient_steps % self.cfg.target_update_every == 0:
                update_target(self.target, self.model, self.cfg.tau)
            total_loss += loss
            total_q += tf.reduce_mean(q)
        count = tf.cast(steps, tf.float32)
        return total_loss / count, total_q / count


def update_target(target, online, tau: float) -> None:
    """``target <- tau * online + (1 - tau) * target``: a copy at ``tau=1``, Polyak below."""
    for t, o in zip(target.variables, online.variables):
        t.assign(tau * o + (1.0 - tau) * t if tau < 1.0 else o)
