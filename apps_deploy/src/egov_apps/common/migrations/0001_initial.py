
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('actor', models.CharField(blank=True, max_length=150)),
                ('ip', models.GenericIPAddressField(null=True)),
                ('action', models.CharField(max_length=64)),
                ('target', models.CharField(blank=True, max_length=200)),
                ('outcome', models.CharField(default='ok', max_length=16)),
                ('detail', models.TextField(blank=True)),
            ],
            options={
                'ordering': ['-at'],
                'default_permissions': ('view',),
            },
        ),
        migrations.CreateModel(
            name='StaffProfile',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('department', models.CharField(max_length=64, verbose_name='部门')),
                ('role', models.CharField(choices=[('clerk', '窗口工作人员'), ('leader', '科室负责人'), ('supervisor', '监察/调度人员')], default='clerk', max_length=16, verbose_name='角色')),
                ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='staff', to=settings.AUTH_USER_MODEL)),
            ],
        ),
    ]
