from django.core.management.base import BaseCommand
from django.db import transaction

import benchcommon
from bench.models import Item


class Command(BaseCommand):
    help = "Insert the benchmark's seed items (ids 1..SEED_ITEMS) into a fresh database."

    def handle(self, *args, **options):
        with transaction.atomic():
            Item.objects.bulk_create(
                Item(id=i, name="item-%d" % i, value=i * 1.5, stock=1000000)
                for i in range(1, benchcommon.SEED_ITEMS + 1))
        self.stdout.write("seeded %d items" % Item.objects.count())
