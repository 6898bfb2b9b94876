"""A folder of images: ``<root>/<split>/<class>/<image>``, one subfolder per class as in
``keras.utils.image_dataset_from_directory``, and one folder per split (no random split).

Class names are the train split's subfolder names, sorted. Files are listed up front (names
only) and decoded and resized in the pipeline. Inputs are raw pixel values 0..255; the
spec's preprocessing scales them by 1/255, so an exported model takes raw pixels.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from tfexp.data import SPLITS, Affine, Data, DataSpec
from tfexp.errors import ConfigError
from tfexp_files.images_config import check

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
PIXELS = Affine(scale=1 / 255, offset=0.0)


class ImageFolder(Data):
    def __init__(self, cfg) -> None:
        self.cfg = cfg
        self.root = Path(cfg.root).expanduser()
        if not self.root.is_dir():
            raise ConfigError(f"data.root={cfg.root} is not a folder (relative to {os.getcwd()}); point it at the folder that holds {'/, '.join(cfg.splits.values())}/")
        train = self.folder("train")
        self.class_names = sorted(p.name for p in train.iterdir() if p.is_dir())
        if not self.class_names:
            raise ConfigError(f"{train} has no class subfolders: put the images of each class in {train}/<class name>/")
        self.listing = {split: self.list_files(split) for split in SPLITS}
        self.source = str(self.root)
        height, width = cfg.image_size
        self.spec = DataSpec(
            task="multiclass", input_shape=(height, width, cfg.channels), num_outputs=len(self.class_names),
            class_names=tuple(self.class_names), preprocessing=PIXELS,
            num_examples={split: len(paths) for split, (paths, _) in self.listing.items()},
        )

    def folder(self, split: str) -> Path:
        folder = self.root / self.cfg.splits[split]
        if not folder.is_dir():
            raise ConfigError(f"{folder} is not a folder: data.root needs one folder per split, or set data.splits.{split}=<its folder name>")
        return folder

    def list_files(self, split: str) -> tuple[list[str], list[int]]:
        """The split's image paths and class indices, by class then name."""
        folder = self.folder(split)
        if unknown := sorted({p.name for p in folder.iterdir() if p.is_dir()} - set(self.class_names)):
            raise ConfigError(f"{folder} has class folder(s) {', '.join(unknown)} that the train split lacks: classes are the train split's subfolders")
        paths, labels = [], []
        for index, name in enumerate(self.class_names):
            found = sorted(str(p) for p in (folder / name).glob("*") if p.suffix.lower() in EXTENSIONS) if (folder / name).is_dir() else []
            paths += found
            labels += [index] * len(found)
        if not paths:
            raise ConfigError(f"the {split} split is empty: {folder}/<class>/ holds no {'/'.join(EXTENSIONS)} files")
        return paths, labels

    def records(self, split, *, training, seed, input_context, pipeline):
        import tensorflow as tf

        paths, labels = self.listing[split]
        ds = tf.data.Dataset.from_tensor_slices((paths, tf.constant(labels, tf.int32)))
        if input_context and input_context.num_input_pipelines > 1:  # one file per example: sharded by file
            ds = ds.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
        if training:
            ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
        return ds.map(self.load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=pipeline.deterministic)

    def load(self, path, label):
        import tensorflow as tf

        image = tf.io.decode_image(tf.io.read_file(path), channels=self.cfg.channels, expand_animations=False)
        return resize(image, self.cfg.image_size), label

    def identity(self) -> dict[str, Any]:
        """The listed file names, hashed: changes when files come or go, reads none."""
        digest = {split: hashlib.sha256("\n".join(paths).encode()).hexdigest()[:16] for split, (paths, _) in self.listing.items()}
        return {**super().identity(), "files": digest}


def resize(image, size):
    """An image tensor (any size, any dtype) -> float32 ``[*size, channels]``, values kept (0..255)."""
    import tensorflow as tf

    resized = tf.image.resize(image, list(size))
    return tf.ensure_shape(resized, [*size, image.shape[-1]])


def load(cfg, seed: int) -> ImageFolder:
    return ImageFolder(check(cfg))
